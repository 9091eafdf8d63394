"""The indexer: every post file under the content folder -> `Post` values, newest first.

    index.py    the stage: `index_site` / `index_posts` -> IndexResult (cache, identities);
                parse.py reads and settles the files to read, split over processes
    files.py    find the post files, links leading outside not followed (stdlib only)
    source.py   split front matter from body (with line numbers), within the size
                bounds; config/yamlload.py reads the front matter with aliases, nesting
                and numbers bounded and every value built or a problem
    jekyll.py   Liquid in a Jekyll site's posts ({{ site.url }}, {% post_url %}, ...)
    settle.py   every field of one post: fields.py (text, words, image, author, links),
                dates.py, urls.py (permalinks, absolute URLs, web_url: the one gate every
                URL from a post goes through), html.py (Markdown, excerpts), nesting.py
                (how deep a body nests, as the HTML parser would build it)
    post.py     the `Post` value every later stage reads; codec.py packs it for the cache
    clean.py    text and HTML made safe for readers, shared by feeds and emails

Unchanged files (same size and modification time, same settings) come from the parse
cache in the store, so a warm run parses nothing. One bad file becomes a `Problem` and
never stops the others; a post that goes out without a piece (its image, a title) carries
the problem in its `notes`, said on every run.
"""
