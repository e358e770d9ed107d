"""Writes xss_payloads.txt: one payload a line, `N` in `__N__` replaced by the line number when loaded.

Each payload, if it ever ran, would call `alert(N)`, log `XSS-N` or set `window.__xss`; the browser test listens for
all three. Run once to regenerate: `.venv/bin/python tests/data/make_xss_corpus.py`.
"""

from pathlib import Path

ACTIONS = ["alert(__N__)", "console.log('XSS-__N__')", "window.__xss=__N__"]

# Vectors with the action as {a}.
VECTORS = [
    # Classic script tags.
    "<script>{a}</script>",
    "<SCRIPT>{a}</SCRIPT>",
    "<script src=data:text/javascript,{a}></script>",
    "<scr<script>ipt>{a}</scr</script>ipt>",
    "</textarea><script>{a}</script>",
    "</title><script>{a}</script>",
    "</script><script>{a}</script>",
    "<script\x0c>{a}</script>",
    # Event handlers.
    "<img src=x onerror={a}>",
    '<img src=x onerror="{a}">',
    "<IMG SRC=x OnErRoR={a}>",
    "<img/src=x/onerror={a}>",
    "<body onload={a}>",
    "<svg onload={a}>",
    "<svg/onload={a}>",
    "<input autofocus onfocus={a}>",
    "<details open ontoggle={a}>",
    "<video><source onerror={a}></video>",
    "<audio src=x onerror={a}>",
    "<iframe onload={a}></iframe>",
    "<marquee onstart={a}>x</marquee>",
    "<div onmouseover={a}>hover</div>",
    "<select autofocus onfocus={a}>",
    "<textarea autofocus onfocus={a}>",
    "<keygen autofocus onfocus={a}>",
    "<object data=x onerror={a}>",
    "<style onload={a}></style>",
    "<img src=x onerror=&#97;&#108;&#101;&#114;&#116;(__N__)><i>{a}</i>",
    # javascript: URLs.
    '<a href="javascript:{a}">click</a>',
    '<a href="JaVaScRiPt:{a}">click</a>',
    '<a href="java&#x09;script:{a}">click</a>',
    '<a href="&#106;avascript:{a}">click</a>',
    "javascript:{a}",
    "javascript://%0a{a}",
    '<iframe src="javascript:{a}"></iframe>',
    '<form action="javascript:{a}"><button>go</button></form>',
    '<a href="data:text/html,<script>{a}</script>">x</a>',
    '<iframe srcdoc="<script>{a}</script>"></iframe>',
    '<embed src="javascript:{a}">',
    # SVG and MathML.
    "<svg><script>{a}</script></svg>",
    "<svg><animate onbegin={a} attributeName=x dur=1s>",
    '<svg><a xlink:href="javascript:{a}"><text x=20 y=20>x</text></a></svg>',
    "<svg><foreignObject><img src=x onerror={a}></foreignObject></svg>",
    "<svg><set attributeName=onmouseover to={a}>",
    "<math><mtext><table><mglyph><style><img src=x onerror={a}>",
    '<math href="javascript:{a}">x</math>',
    '<math><maction actiontype=statusline xlink:href="javascript:{a}">x</maction></math>',
    # Attribute breakouts.
    '"><script>{a}</script>',
    "'><script>{a}</script>",
    '" onmouseover="{a}" x="',
    "' onfocus='{a}' autofocus x='",
    '" autofocus onfocus="{a}',
    '"><img src=x onerror={a}>',
    "'><svg onload={a}>",
    "` onmouseover=`{a}",
    '"/><svg/onload={a}>',
    "</a><img src=x onerror={a}>",
    # Template injection and client-side templates.
    "{{{{7*7}}}} {{{{constructor.constructor('{a}')()}}}}",
    "${{{a}}}",
    "{{% debug %}}{{{{ settings.SECRET_KEY }}}}<script>{a}</script>",
    '<div hx-get="/" hx-trigger="load" hx-on::after-request="{a}">htmx</div>',
    '<div hx-on:click="{a}">htmx</div>',
    '<div x-data x-init="{a}">alpine</div>',
    "<div ng-app ng-csp>{{{{$eval.constructor('{a}')()}}}}</div>",
    # Polyglots.
    "jaVasCript:/*-/*`/*\\`/*'/*\"/**/(/* */oNcliCk={a} )//%0D%0A%0d%0a//</stYle/</titLe/</teXtarEa/</scRipt/--!>\\x3csVg/<sVg/oNloAd={a}//>\\x3e",
    "'\"-->]]>*/</script><svg onload={a}>",
    '-->\'"/></sCript><deTailS open x=">" ontoggle=({a})>',
    '<!--<img src="--><img src=x onerror={a}//">',
    "<![CDATA[<script>{a}</script>]]>",
    '<noscript><p title="</noscript><img src=x onerror={a}>">',
    # CSS injection.
    "<style>@import 'javascript:{a}';</style>",
    '<div style="background:url(javascript:{a})">css</div>',
    '<div style="width:expression({a})">css</div>',
    '<link rel=stylesheet href="javascript:{a}">',
    "</style><script>{a}</script>",
    # Other elements and tricks.
    '<meta http-equiv="refresh" content="0;url=javascript:{a}">',
    '<base href="javascript:{a}//">',
    "<isindex action=javascript:{a} type=image>",
    '<table background="javascript:{a}">',
    '<object data="data:text/html,<script>{a}</script>"></object>',
    "<template><script>{a}</script></template>",
    '<button formaction="javascript:{a}">x</button>',
]

# Unicode tricks and encodings, each with a fixed action.
EXTRA = [
    "＜script＞alert(__N__)＜/script＞",  # full-width angle brackets
    "\u003csvg onload=alert(__N__)\u003e<b>unicode-escaped in source</b>",
    "\\u003cscript\\u003ealert(__N__)\\u003c/script\\u003e",
    "&lt;script&gt;alert(__N__)&lt;/script&gt;",
    "&#60;script&#62;alert(__N__)&#60;/script&#62;",
    "%3Cscript%3Ealert(__N__)%3C%2Fscript%3E",
    "<scr\u200bipt>alert(__N__)</scr\u200bipt>",  # zero-width space
    "\u202e>tpircs/<)__N__(trela>tpircs<",  # right-to-left override
    "<img src=x onerror=\\u0061lert(__N__)>",
    "<ſcript>alert(__N__)</ſcript>",  # long s, upper-cases to S
    "<script>\\u0061lert(__N__)</script>",
    "<img src=x onerror=eval(atob('YWxlcnQoMSk'))><b>__N__</b>",
    "<svg><script>&#x61;lert(__N__)</script></svg>",
    '<a href="\u2028javascript:alert(__N__)">x</a>',
    "<script>/*\u2029*/alert(__N__)</script>",
    "\ufeff<script>alert(__N__)</script>",
    "<img src=x onerror=window.__xss=__N__ ​>",
    "<img src=`x`onerror=alert(__N__)>",
    "<<script>alert(__N__)//<</script>",
    "<img src=x:alert(__N__) onerror=eval(src)>",
    'https://example.org/"><script>alert(__N__)</script>',
    "https://example.org/?q=<img src=x onerror=alert(__N__)>",
    'https://example.org/#"onmouseover="alert(__N__)',
    "http://javascript:alert(__N__)@example.org/",
    "www.example.org/<svg onload=alert(__N__)>",
    "[click](javascript:alert(__N__))",
    '![x](x"onerror="alert(__N__))',
    '<a href="https://example.org" onclick="alert(__N__)">site</a>',
    "=cmd|' /C calc'!A0 XSS-__N__",  # spreadsheet formula injection in exports
    "'; alert(__N__); var x='",
    '"; alert(__N__); //',
    "</script><script>alert(__N__)</script><!--",
    "{{7*7}} ${7*7} <%= 7*7 %> #{7*7} XSS-__N__",
    "{% if 1 %}<script>alert(__N__)</script>{% endif %}",
]


def main() -> None:
    lines = [vector.format(a=action) for vector in VECTORS for action in ACTIONS] + EXTRA
    assert all("\n" not in line and "\r" not in line for line in lines)
    assert len(set(lines)) == len(lines), "duplicates"
    Path(__file__).with_name("xss_payloads.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(len(lines))  # noqa: T201  (a script run by hand)


if __name__ == "__main__":
    main()
