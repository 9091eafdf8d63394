"""Every SMTP answer sorted: what real servers say, and what it makes of the row and the reader."""

from __future__ import annotations

import pytest

from publisher.delivery.replies import Kind, Reply, Step, classify

ACCEPTED, HARD, SOFT, REFUSED = Kind.ACCEPTED, Kind.HARD, Kind.SOFT, Kind.REFUSED
POLICY, TEMPORARY, CLOSING, SERVER = Kind.POLICY, Kind.TEMPORARY, Kind.CLOSING, Kind.SERVER

# (step, code, text, kind): the text as servers send it (Postfix, Exim, Gmail, Outlook,
# Naver, Amazon SES, the RFCs' own examples).
TABLE: list[tuple[Step, int, str, Kind]] = [
    # accepted
    ("connect", 220, "mx.example.com ESMTP Postfix", ACCEPTED),
    ("mail", 250, "2.1.0 Ok", ACCEPTED),
    ("rcpt", 251, "User not local; will forward", ACCEPTED),
    ("data", 354, "End data with <CR><LF>.<CR><LF>", ACCEPTED),
    ("message", 250, "2.0.0 Ok: queued as 4Y1x2", ACCEPTED),
    # the server, the connection or our settings: stop sending, bounce nobody
    ("connect", 554, "5.7.1 mx.example.com: your IP is on a blocklist", SERVER),
    ("connect", 450, "4.3.2 try again later", SERVER),
    ("helo", 550, "5.7.1 HELO rejected", SERVER),
    ("starttls", 454, "4.7.0 TLS not available due to local problem", SERVER),
    ("auth", 535, "5.7.8 Username and Password not accepted", SERVER),
    ("mail", 530, "5.7.0 Authentication required", SERVER),
    ("mail", 553, "5.7.1 <news@newsdao.kr>: Sender address rejected: not owned by user", SERVER),
    ("mail", 550, "5.1.8 <news@nowhere.invalid>: Sender address rejected: Domain not found",
     SERVER),
    ("mail", 452, "4.3.1 Insufficient system storage", SERVER),
    ("mail", 451, "4.7.1 rate limit exceeded, try later", SERVER),
    ("rcpt", 530, "5.7.0 Must issue a STARTTLS command first", SERVER),
    ("rcpt", 535, "5.7.8 authentication failed", SERVER),
    ("rcpt", 550, "5.1.7 bad sender's mailbox address syntax", SERVER),
    ("data", 530, "5.7.0 Authentication required", SERVER),
    ("data", 503, "5.5.1 Error: need RCPT command", SERVER),
    # 421 anywhere: the server is closing this connection
    ("connect", 421, "4.3.2 Service not available, closing transmission channel", CLOSING),
    ("mail", 421, "4.7.0 too many messages on one connection", CLOSING),
    ("rcpt", 421, "4.4.2 timeout exceeded", CLOSING),
    ("message", 421, "4.3.2 going away", CLOSING),
    # the reader's address is gone for good
    ("rcpt", 550, "5.1.1 <kim@example.com>: Recipient address rejected: User unknown", HARD),
    ("rcpt", 550, "5.1.1 The email account that you tried to reach does not exist", HARD),
    ("rcpt", 553, "5.1.3 The recipient address <kim@> is not a valid RFC 5321 address", HARD),
    ("rcpt", 550, "5.1.2 Host unknown (Name server: example.invalid: host not found)", HARD),
    ("rcpt", 551, "5.1.6 user has moved; please try <kim@example.org>", HARD),
    ("rcpt", 556, "5.1.10 Recipient address has null MX", HARD),
    ("rcpt", 550, "5.2.1 The email account that you tried to reach is disabled", HARD),
    ("rcpt", 550, "5.2.1 mailbox disabled, not accepting messages", HARD),
    ("rcpt", 550, "5.2.0 mailbox unavailable", POLICY),  # RFC 3463: the mailbox exists
    ("rcpt", 550, "5.2.4 mailing list expansion problem", POLICY),
    ("rcpt", 550, "Requested action not taken: mailbox unavailable", HARD),
    ("rcpt", 551, "User not local; please try <forward-path>", HARD),
    ("rcpt", 553, "Requested action not taken: mailbox name not allowed", HARD),
    ("rcpt", 556, "Domain does not accept mail", HARD),
    ("message", 550, "5.1.1 user unknown", HARD),
    # the mailbox cannot take mail: soft, the reader after soft_bounce_limit in a row
    ("rcpt", 552, "5.2.2 The email account that you tried to reach is over quota", SOFT),
    ("message", 552, "5.2.2 Mailbox full", SOFT),
    ("rcpt", 552, "Requested mail action aborted: exceeded storage allocation", SOFT),
    # this message refused for good; the reader stays
    ("message", 554, "5.7.1 message rejected as spam", REFUSED),
    ("message", 550, "5.7.1 Message rejected due to content restrictions", REFUSED),
    ("message", 552, "5.3.4 Message size exceeds fixed limit", REFUSED),
    ("message", 552, "5.2.3 Message length exceeds administrative limit", REFUSED),
    ("message", 554, "5.6.0 Malformed MIME", REFUSED),
    ("message", 554, "Transaction failed", REFUSED),
    ("data", 554, "5.5.1 Error: no valid recipients", POLICY),
    ("data", 554, "Transaction failed", REFUSED),
    # a policy that may be about us (relay, reputation, sender): never a bounce
    ("rcpt", 554, "5.7.1 <kim@gmail.com>: Relay access denied", POLICY),
    ("rcpt", 550, "5.7.1 relaying denied", POLICY),
    ("rcpt", 550, "Relaying denied", POLICY),
    ("rcpt", 550, "5.1.1 <kim@gmail.com>: Relay access denied", POLICY),
    ("rcpt", 550, "5.7.1 Service unavailable; client host blocked using Spamhaus", POLICY),
    ("rcpt", 550, "5.7.606 Access denied, banned sending IP", POLICY),
    ("rcpt", 550, "5.7.26 Unauthenticated email from newsdao.kr is not accepted (DMARC)",
     POLICY),
    ("rcpt", 550, "5.4.1 Recipient address rejected: Access denied", POLICY),
    ("rcpt", 554, "5.4.4 unable to route: no mail hosts for domain", POLICY),
    ("rcpt", 550, "5.3.2 system not accepting network messages", POLICY),
    ("rcpt", 554, "Transaction failed", POLICY),
    ("rcpt", 550, "5.0.0 rejected", HARD),
    # 500-504 at RCPT: about that address (everyone refused alike stops the run, in the ledger)
    ("rcpt", 501, "5.1.3 Bad recipient address syntax", HARD),
    ("rcpt", 501, "<kim@@example.com>: malformed address: @example.com unexpected", HARD),
    ("rcpt", 501, "Syntax error in parameters or arguments", HARD),
    ("rcpt", 501, "5.5.4 Syntax: RCPT TO:<address>", POLICY),
    ("rcpt", 504, "5.5.2 <kim>: Recipient address rejected: need fully-qualified address",
     POLICY),
    ("rcpt", 500, "Line too long", POLICY),
    ("rcpt", 503, "5.5.1 Error: need MAIL command", POLICY),
    # qmail writes the enhanced code at the end
    ("rcpt", 553, "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", POLICY),
    ("rcpt", 550, "sorry, no mailbox here by that name. (#5.1.1)", HARD),
    ("rcpt", 552, "sorry, that mailbox is over quota (#5.2.2)", SOFT),
    ("message", 554, "sorry, the message looks like spam (#5.7.1)", REFUSED),
    ("rcpt", 451, "qq temporary problem (#4.3.0)", TEMPORARY),
    # temporary: that row waits its own turn, the others go on
    ("rcpt", 450, "4.2.1 The user you are trying to contact is receiving mail too quickly",
     TEMPORARY),
    ("rcpt", 452, "4.2.2 The email account that you tried to reach is over quota", TEMPORARY),
    ("rcpt", 451, "4.7.1 Greylisted, see http://postgrey.schweikert.ch/", TEMPORARY),
    ("rcpt", 450, "4.1.8 <news@newsdao.kr>: Sender address rejected: Domain not found",
     TEMPORARY),
    ("rcpt", 452, "4.5.3 Too many recipients", TEMPORARY),
    ("rcpt", 451, "Requested action aborted: local error in processing", TEMPORARY),
    ("data", 451, "4.3.0 try again later", TEMPORARY),
    ("message", 451, "4.7.0 Temporary server error. Please try again later", TEMPORARY),
    ("message", 452, "Requested action not taken: insufficient system storage", TEMPORARY),
]  # fmt: skip


@pytest.mark.parametrize(
    ("step", "code", "text", "kind"),
    TABLE,
    ids=[f"{step}-{code}-{text[:28]}" for step, code, text, _ in TABLE],
)
def test_each_answer_means_what_it_should(step: Step, code: int, text: str, kind: Kind) -> None:
    assert classify(step, Reply.parse(code, text)).kind is kind


def test_a_reply_reads_its_enhanced_code_and_becomes_one_printable_line() -> None:
    reply = Reply.parse(550, b"5.1.1 <kim@example.com>:\nRecipient address rejected:\x07 gone")
    assert (reply.code, reply.enhanced) == (550, "5.1.1")
    assert str(reply) == "550 5.1.1 <kim@example.com>: Recipient address rejected: gone"
    assert reply.permanent
    assert Reply.parse(550, "no such user").enhanced == ""
    assert Reply.parse(451, "4.7.1").enhanced == "4.7.1"
    assert Reply.parse(553, "sorry, not in rcpthosts (#5.7.1)").enhanced == "5.7.1"
    assert Reply.parse(553, "sorry (#5.7.1) and more").enhanced == ""  # only at the very end


def test_two_readers_refused_alike_give_the_same_answer() -> None:
    first = classify("rcpt", Reply.parse(554, "5.7.1 <a@gmail.com>: Relay access denied"))
    second = classify("rcpt", Reply.parse(554, "5.7.1 <b@naver.com>: Relay access denied"))
    other = classify("message", Reply.parse(554, "5.7.1 <b@naver.com>: Relay access denied"))
    assert first.key == second.key == ("rcpt", 554, "5.7.1")
    assert other.key != first.key
