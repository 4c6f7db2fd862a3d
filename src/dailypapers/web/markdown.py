"""A paper as Markdown (what `GET /papers/{id}.md` serves and `HfApi.read_paper` returns)."""

from __future__ import annotations

from dailypapers.db.models import Paper


def paper_markdown(paper: Paper) -> str:
    lines = [f"# {paper.title}", "", f"**Authors:** {', '.join(paper.authors)}", ""]
    lines.append(f"**arXiv:** [{paper.arxiv_id}]({paper.abs_url}) · [PDF]({paper.pdf_url})")
    if paper.code_url:
        lines.append(f"**Code:** {paper.code_url}")
    if paper.project_url:
        lines.append(f"**Project page:** {paper.project_url}")
    lines += [
        f"**Categories:** {', '.join(paper.category_list)}",
        f"**Announced:** {paper.announced_on.isoformat()} · **Upvotes:** {paper.upvotes}",
    ]
    if paper.comment:
        lines.append(f"**Comment:** {paper.comment}")
    if paper.journal_ref:
        lines.append(f"**Journal reference:** {paper.journal_ref}")
    if paper.doi:
        lines.append(f"**DOI:** [{paper.doi}](https://doi.org/{paper.doi})")
    lines += ["", "## Abstract", "", paper.abstract, ""]
    return "  \n".join(lines[:4]) + "\n" + "  \n".join(lines[4:])
