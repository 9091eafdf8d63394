"""The email half of the pipeline: from indexed posts to one finished message per subscriber.

    posts -> plan.py       which posts each due newsletter announces, and when (its crontab)
          -> render.py     an issue to subject, CSS-inlined HTML and text, once (templates.py:
                           Jinja2 and premailer behind one door); no MIME
          -> message.py    a rendered issue encoded once, then one MIME message per
                           subscriber (their address and unsubscribe token, tokens.py)
          -> send.py       the stage `pipeline.run` calls: plan, render, enqueue (one
                           transaction), write the archive pages (archive.py), hand the
                           pending rows to `delivery`; dry runs and previews
    subscribers.py         the editor's side: add, remove; who receives what
    subscriber_csv.py      subscribers imported from and exported to CSV files
    choices.py             the readers' side: ask (pending), confirm, leave one newsletter,
                           undo, preferences, leave everything (the web app and CLI call it)
    confirm.py             the double opt-in email: queued in the journal, sent once
    sendtest.py            `publisher send-test`: one real message to one address, recorded
                           nowhere

Nothing here moves bytes to a mail server: `publisher.delivery` does, and knows nothing of
templates. The modules load on use (Jinja2 and premailer only when an issue is rendered),
so a quiet cron run pays for none of it.
"""
