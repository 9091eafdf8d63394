<?xml version="1.0" encoding="UTF-8"?>
<!-- Shows an Atom or RSS feed opened in a browser as a page for people, with a line on how
     to subscribe. Feed readers ignore it. Shipped by publisher; XSLT 1.0 for every browser. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="UTF-8" indent="yes"
      doctype-system="about:legacy-compat"/>

  <xsl:variable name="title" select="/atom:feed/atom:title | /rss/channel/title"/>
  <xsl:variable name="subtitle" select="/atom:feed/atom:subtitle | /rss/channel/description"/>
  <xsl:variable name="home"
      select="/atom:feed/atom:link[@rel='alternate']/@href | /rss/channel/link"/>
  <xsl:variable name="self"
      select="/atom:feed/atom:link[@rel='self']/@href | /rss/channel/atom:link[@rel='self']/@href"/>

  <xsl:template match="/">
    <html>
      <xsl:attribute name="lang">
        <xsl:value-of select="/atom:feed/@xml:lang | /rss/channel/language"/>
      </xsl:attribute>
      <head>
        <meta charset="UTF-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/> (feed)</title>
        <style>
          body { font: 16px/1.6 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto;
                 padding: 0 1rem; color: #222; }
          .about { background: #fff8d6; border: 1px solid #e8d98a; padding: .75rem 1rem;
                   border-radius: 6px; }
          code { background: #f2f2f2; padding: .1rem .3rem; border-radius: 3px;
                 word-break: break-all; }
          li { margin: 1rem 0; list-style: none; }
          ul { padding: 0; }
          time { color: #666; font-size: .9rem; }
          a { color: #0645ad; }
        </style>
      </head>
      <body>
        <p class="about">
          This is a news feed. To subscribe, copy this page's address
          <code><xsl:value-of select="$self"/></code>
          into your feed reader (Feedly, Inoreader, NetNewsWire, Thunderbird...).
          <br/>
          피드 구독: 위 주소를 피드 리더에 붙여 넣으세요.
        </p>
        <h1><xsl:value-of select="$title"/></h1>
        <p><xsl:value-of select="$subtitle"/></p>
        <p><a href="{$home}">Visit the site · 사이트로 가기</a></p>
        <ul>
          <xsl:apply-templates select="/atom:feed/atom:entry | /rss/channel/item"/>
        </ul>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="atom:entry">
    <li>
      <a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a>
      <br/>
      <time><xsl:value-of select="substring(atom:published, 1, 10)"/></time>
      <p><xsl:value-of select="atom:summary"/></p>
    </li>
  </xsl:template>

  <xsl:template match="item">
    <li>
      <a href="{link}"><xsl:value-of select="title"/></a>
      <br/>
      <time><xsl:value-of select="pubDate"/></time>
    </li>
  </xsl:template>
</xsl:stylesheet>
