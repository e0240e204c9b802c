"""Real documents the tests build themselves, from articles written here: a two-column e-paper PDF page, the same
page scanned (a PNG, and a PDF of the image alone), a GBK web page wrapped in navigation, adverts, related links
and a footer, and a Word file with its properties. Each holds the article's paragraphs word for word."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Article:
    title: str
    paragraphs: tuple[str, ...]
    outlet: str
    date: str  # 2024-07-03
    reporter: str

    @property
    def dateline(self) -> str:
        y, m, d = (int(x) for x in self.date.split("-"))
        return f"{self.outlet}  {y}年{m}月{d}日 星期三  第5版"


FLOOD = Article(
    title="柳溪县防汛应急响应提升至二级",
    paragraphs=(
        "本报讯（记者 王明）7月2日，柳溪县气象台发布暴雨橙色预警。县防汛指挥部当日将应急响应提升至二级，组织转移群众1200余人。",
        "截至2日18时，全县平均降雨量达到86毫米，最大降雨出现在青石镇，为213毫米。",
        "县水利局表示，全县17座中型水库均在汛限水位以下运行，下游河道水位较前日上涨1.3米。",
        "防汛指挥部提醒市民，暴雨期间尽量减少外出，远离河道和低洼地带。",
    ),
    outlet="柳溪日报", date="2024-07-03", reporter="王明")

MARKET = Article(
    title="城南农贸市场改造完工",
    paragraphs=(
        "本报讯（记者 赵芳）经过八个月施工，城南农贸市场改造工程日前完工，新增摊位320个。",
        "改造后的市场设有冷链区和快检室，每天可检测农产品样品150份。",
        "市场管理方介绍，原有商户全部回迁，摊位租金三年内不上涨。",
    ),
    outlet="柳溪日报", date="2024-07-03", reporter="赵芳")

FONT = "china-s"  # PyMuPDF's built-in Simplified Chinese font


def _textbox(page, rect, text: str, size: float, align: int = 0) -> None:
    import pymupdf

    left = page.insert_textbox(pymupdf.Rect(*rect), text, fontname=FONT, fontsize=size, align=align)
    assert left >= 0, f"text does not fit its box: {text[:20]}"


def _body(article: Article) -> str:
    return "\n".join("\u3000\u3000" + p for p in article.paragraphs)


def epaper_page(path: Path, articles: tuple[Article, ...] = (FLOOD,)) -> Path:
    """An e-paper page: masthead, then per article a headline across the page and its text in two columns
    (the first column filled before the second), then the editor's credit and the page number."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((40, 40), articles[0].dateline, fontname=FONT, fontsize=9)
    top = 60
    for article in articles:
        _textbox(page, (40, top, 555, top + 30), article.title, 18, align=1)
        half = len(article.paragraphs) // 2 + len(article.paragraphs) % 2
        left = "\n".join("\u3000\u3000" + p for p in article.paragraphs[:half])
        right = "\n".join("\u3000\u3000" + p for p in article.paragraphs[half:])
        _textbox(page, (40, top + 45, 290, top + 200), left, 10.5)
        _textbox(page, (305, top + 45, 555, top + 200), right, 10.5)
        top += 230
    page.insert_text((40, 820), "责任编辑：李华   美编：张丽", fontname=FONT, fontsize=8)
    page.insert_text((540, 820), "5", fontname=FONT, fontsize=8)
    doc.set_metadata({"title": f"{articles[0].outlet}第5版", "author": "python-docx"})
    doc.save(path)
    return path


def scan_png(path: Path, articles: tuple[Article, ...] = (FLOOD,), dpi: int = 200) -> Path:
    """The e-paper page printed and scanned: an image, no text layer."""
    import pymupdf

    pdf = epaper_page(path.with_suffix(".src.pdf"), articles)
    with pymupdf.open(pdf) as doc:
        doc[0].get_pixmap(dpi=dpi).save(path)
    pdf.unlink()
    return path


def image_pdf(path: Path, articles: tuple[Article, ...] = (FLOOD,)) -> Path:
    """A scanned PDF: each page is an image only."""
    import pymupdf

    png = scan_png(path.with_suffix(".png"), articles)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_image(page.rect, filename=str(png))
    doc.save(path)
    png.unlink()
    return path


def web_page(path: Path, article: Article = FLOOD, encoding: str = "gbk", nested: int = 0) -> Path:
    """A saved news page in `encoding`: navigation, an advert, the article (inside `nested` extra divs), related
    links and a footer, with the outlet, date and author in its meta tags."""
    paras = "\n".join(f"<p>{p}</p>" for p in article.paragraphs)
    body = f"<div class='article'><h1>{article.title}</h1>\n{paras}\n</div>"
    for i in range(nested):
        body = f"<div class='wrap-{i}'>{body}</div>"
    html = f"""<!DOCTYPE html>
<html><head><meta charset="{encoding}"><title>{article.title}_{article.outlet}</title>
<meta property="og:site_name" content="{article.outlet}">
<meta property="article:published_time" content="{article.date}T08:00:00+08:00">
<meta name="author" content="{article.reporter}"></head>
<body><div class="nav"><a href="/">首页</a> | <a href="/news">新闻</a> | <a href="/sports">体育</a> | <a href="/ent">娱乐</a></div>
<div class="ad">广告：买房就到锦绣花园，咨询电话88886666</div>
{body}
<div class="related"><h3>相关阅读</h3><ul><li><a href="/a">全市召开安全生产工作会议</a></li>
<li><a href="/b">本周天气以晴为主</a></li></ul></div>
<div class="footer">版权所有 {article.outlet}社 未经授权禁止转载 备案号12345678号</div></body></html>"""
    path.write_bytes(html.encode(encoding))
    return path


def word_file(path: Path, article: Article = FLOOD) -> Path:
    """A Word draft: the headline as a Title, the paragraphs, the title and author in its properties."""
    import docx

    document = docx.Document()
    document.add_heading(article.title, level=0)
    for p in article.paragraphs:
        document.add_paragraph(p)
    document.core_properties.title = article.title
    document.core_properties.author = article.reporter
    buf = io.BytesIO()
    document.save(buf)
    path.write_bytes(buf.getvalue())
    return path


CHROMIUM = "/usr/bin/chromium"

SUBWAY = Article(
    title="青川市地铁3号线北延段开通运营",
    paragraphs=(
        "本报讯（记者 刘晓 通讯员 陈东）11月7日上午10时，青川市地铁3号线北延段正式开通运营。北延段全长14.6公里，共设车站9座，其中换乘站2座。",
        "据市轨道交通集团介绍，北延段开通后，从北郊新城到市中心的通行时间由原来的70分钟缩短至32分钟。初期运营时段为每天6时至23时，高峰时段行车间隔为4分30秒。",
        "北延段建设历时4年，总投资约118亿元。工程穿越两条河流和一处铁路编组站，施工中采用了盾构下穿技术，最大埋深达到31米。",
        "市民王女士在首班车上告诉记者，她每天往返新城和市区上班，“以前要倒两次公交，现在一趟地铁就到了。”",
        "轨道交通集团表示，开通首月将在各站增派志愿者200名，引导乘客出行。乘客可通过服务热线96166咨询线路和票价信息。",
    ),
    outlet="青川晚报", date="2023-11-08", reporter="刘晓")


def browser_page(folder: Path, article: Article = SUBWAY) -> tuple[Path, Path]:
    """The article laid out by a browser in CSS columns (a paragraph runs on from one column into the next), with
    a masthead naming the section, printed to PDF and captured as a screenshot: (page.pdf, page.png)."""
    import subprocess

    y, m, d = (int(x) for x in article.date.split("-"))
    paras = "\n".join(f"<p>{p}</p>" for p in article.paragraphs)
    html = folder / "page.html"
    html.write_text(f"""<html><head><meta charset="utf-8"><style>
body{{font-family:"Noto Serif CJK SC","Noto Sans CJK SC";width:180mm;margin:10mm auto;font-size:10.5pt;line-height:1.6}}
.mast{{display:flex;justify-content:space-between;border-bottom:2px solid #000;font-size:9pt}}
h1{{text-align:center;font-size:20pt;margin:6mm 0}}
.cols{{column-count:2;column-gap:8mm}} p{{text-indent:2em;margin:0;text-align:justify}}
.foot{{margin-top:10mm;font-size:8pt;border-top:1px solid #000}}
</style></head><body>
<div class="mast"><span>{article.outlet}</span><span>{y}年{m}月{d}日 星期三</span><span>A03版 · 城市</span></div>
<h1>{article.title}</h1><div class="cols">{paras}</div>
<div class="foot">责任编辑：孙磊　校对：周敏</div></body></html>""", encoding="utf-8")
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    pdf, png = folder / "page.pdf", folder / "page.png"
    for extra in ([f"--print-to-pdf={pdf}", "--no-pdf-header-footer"], [f"--screenshot={png}", "--window-size=900,1100"]):
        subprocess.run([*flags, *extra, html.as_uri()], check=True, capture_output=True, timeout=120)
    return pdf, png
