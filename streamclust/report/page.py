"""The report's HTML: one self-contained page (inline SVG and CSS, no scripts, nothing fetched)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from streamclust.evaluate.scores import Scores

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; background: #fff; }
h1 { margin-bottom: 0.2em; } .facts { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f5f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.status-active { color: #1a7f37; } .status-merged { color: #b35900; } .status-retired { color: #c62828; }
figure { margin: 1.5em 0; } svg { max-width: 100%; height: auto; }
ul.examples { margin: 0; padding-left: 1.1em; color: #444; }
"""


@dataclass(frozen=True)
class ClusterRow:
    cluster_id: int
    status: str
    posts: int  # posts labelled with it in this run
    weight: float  # the catalog's size: the decayed number of member posts (cluster.count_half_life_posts)
    keywords: list[str]
    examples: list[str]


@dataclass(frozen=True)
class ReportPage:
    title: str
    facts: list[str]
    figures: list[tuple[str, str]]  # (caption, inline SVG)
    clusters: list[ClusterRow]
    total_clusters: int  # in the catalog; the table may show only the largest
    scores: list[tuple[str, Scores]]  # (row name, scores) when true labels are known


def scores_html(scores: Sequence[tuple[str, Scores]]) -> str:
    if not scores:
        return ""
    head = "".join(
        f"<th>{name}</th>"
        for name in ("labels", "NMI", "ARI", "homogeneity", "completeness", "purity", "clusters", "outliers")
    )
    rows = []
    for name, value in scores:
        cells = [
            f"{value.nmi:.3f}",
            f"{value.ari:.3f}",
            f"{value.homogeneity:.3f}",
            f"{value.completeness:.3f}",
            f"{value.purity:.3f}",
            str(value.n_clusters),
            f"{value.outlier_share:.1%}",
        ]
        numbers = "".join(f'<td class="num">{cell}</td>' for cell in cells)
        rows.append(f"<tr><td>{escape(name)}</td>{numbers}</tr>")
    return (
        "<h2>Scores against the true labels</h2>"
        "<p>The evaluation harness's scores (docs/quality.md): <em>online</em> is the label each post got when it "
        "was processed; <em>after events</em> also counts the posts a new cluster was born from and follows "
        "merges. Outliers count as one cluster of their own.</p>"
        f"<table><tr>{head}</tr>{''.join(rows)}</table>"
    )


def clusters_html(clusters: Sequence[ClusterRow], total: int) -> str:
    rows = []
    for row in clusters:
        examples = "".join(f"<li>{escape(text)}</li>" for text in row.examples)
        rows.append(
            f"<tr><td class='num'>#{row.cluster_id}</td>"
            f"<td class='status-{escape(row.status)}'>{escape(row.status)}</td>"
            f"<td class='num'>{row.posts:,}</td><td class='num'>{row.weight:,.1f}</td>"
            f"<td>{escape(', '.join(row.keywords))}</td>"
            f"<td><ul class='examples'>{examples}</ul></td></tr>"
        )
    return (
        f"<h2>Clusters ({len(clusters)} of {total}, active and largest first)</h2>"
        "<p><em>posts</em>: posts labelled with the cluster in this run; <em>decayed weight</em>: the catalog's "
        "size, in which older posts count less.</p>"
        "<table><tr><th>id</th><th>status</th><th>posts</th><th>decayed weight</th><th>keywords</th>"
        "<th>recent example posts</th></tr>"
        f"{''.join(rows)}</table>"
    )


def render_page(page: ReportPage) -> str:
    facts = " · ".join(escape(fact) for fact in page.facts)
    figures = "".join(
        f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>" for caption, svg in page.figures
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(page.title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(page.title)}</h1><p class='facts'>{facts}</p>"
        f"{scores_html(page.scores)}{figures}{clusters_html(page.clusters, page.total_clusters)}"
        "</body></html>\n"
    )
