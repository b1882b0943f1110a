r"""Figures in one style: decision boundaries with ε-balls, image grids, curves, and
sliders over precomputed figures that move on the static page.

Every function draws on a matplotlib ``Axes`` (or makes its own figure) and returns it,
so a notebook can add titles, legends and ``plt.show()``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from dataclasses import dataclass
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle, RegularPolygon
from torch import nn

from advlib.metrics import confidence
from advlib.norms import as_p, lp_norm

CLASS_COLORS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def style() -> None:
    """The book's matplotlib style: readable at page width, no top/right spines."""
    plt.rcParams.update(
        {
            "figure.figsize": (6.0, 4.0),
            "figure.dpi": 100,
            "savefig.dpi": 100,
            "font.size": 10,
            "axes.titlesize": 11,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "legend.frameon": False,
            "image.cmap": "gray",
        }
    )


def ball_patch(center: Sequence[float], eps: float, norm: str | float, **kwargs) -> plt.Artist:
    """The ε-ball around a 2D point: a disc for L2, a square for L∞, a diamond for L1."""
    p = as_p(norm)
    x, y = float(center[0]), float(center[1])
    if p == 2.0:
        return Circle((x, y), eps, **kwargs)
    if p == math.inf:
        return Rectangle((x - eps, y - eps), 2 * eps, 2 * eps, **kwargs)
    return RegularPolygon((x, y), numVertices=4, radius=eps, orientation=0.0, **kwargs)


def decision_boundary(
    ax: Axes,
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    eps: float | None = None,
    norm: str | float = "linf",
    ball_points: torch.Tensor | None = None,
    ball_colors: Sequence[str] | None = None,
    resolution: int = 200,
    limits: tuple[float, float] = (0.0, 1.0),
) -> Axes:
    r"""Draw the regions of g(x) = argmax f(x) on the square ``limits``², the boundary, the
    points coloured by class and, if ``eps`` is given, ε-balls (discs for L2, squares for
    L∞) around ``ball_points`` (default: every point of ``X``).

    Args:
        ax: where to draw. model: a 2D classifier. X: points (N, 2). y: labels (N,).
        eps: radius of the balls, or None for no balls. norm: the norm of the balls.
        ball_points: the centres of the balls. ball_colors: one edge colour per ball
            (e.g. red for the points whose ball crosses the boundary).
        resolution: grid points per side.
    """
    grid = torch.linspace(limits[0], limits[1], resolution)
    xx, yy = torch.meshgrid(grid, grid, indexing="xy")
    with torch.no_grad():
        regions = model(torch.stack([xx.flatten(), yy.flatten()], dim=1)).argmax(dim=1)
    regions = regions.view(resolution, resolution).numpy()
    num_classes = int(max(regions.max(), int(y.max()))) + 1
    colors = CLASS_COLORS[:num_classes]
    ax.contourf(
        xx.numpy(),
        yy.numpy(),
        regions,
        levels=np.arange(num_classes + 1) - 0.5,
        colors=colors,
        alpha=0.15,
    )
    ax.contour(
        xx.numpy(),
        yy.numpy(),
        regions,
        levels=np.arange(num_classes) + 0.5,
        colors="black",
        linewidths=1.2,
    )
    for k in range(num_classes):
        members = X[y == k]
        ax.scatter(
            members[:, 0], members[:, 1], s=12, color=colors[k], label=f"class {k}", zorder=3
        )
    if eps is not None:
        centres = X if ball_points is None else ball_points
        edges = ball_colors if ball_colors is not None else ["black"] * len(centres)
        for centre, edge in zip(centres, edges):
            ax.add_patch(
                ball_patch(centre, eps, norm, fill=False, edgecolor=edge, linewidth=0.8, zorder=2)
            )
    ax.set_xlim(*limits)
    ax.set_ylim(*limits)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def prediction_titles(model: nn.Module, x: torch.Tensor, prefix: str = "") -> list[str]:
    """One title per image: ``"7 (99.2%)"``, the predicted class and its confidence."""
    predicted, top = confidence(model, x)
    return [f"{prefix}{int(k)} ({100 * float(c):.1f}%)" for k, c in zip(predicted, top)]


def image_grid(
    images: torch.Tensor,
    titles: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    size: float = 1.3,
    signed: bool = False,
    suptitle: str | None = None,
) -> Figure:
    """Show images (N, 1, h, w) or (N, h, w) in a grid, each with its title.

    Args:
        images: grey-level images in [0, 1], or perturbations if ``signed``.
        titles: one per image, e.g. from :func:`prediction_titles`.
        ncols: images per row. size: inches per image.
        signed: draw values symmetric around 0 with a diverging colour map (for
            perturbations), each image scaled to its own largest magnitude.
    """
    images = images.detach().reshape(len(images), *images.shape[-2:]).cpu()
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, (size + 0.3) * nrows), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, image) in enumerate(zip(axes.flat, images)):
        if signed:
            bound = float(image.abs().max()) or 1.0
            ax.imshow(image.numpy(), cmap="RdBu_r", vmin=-bound, vmax=bound)
        else:
            ax.imshow(image.numpy(), cmap="gray_r", vmin=0.0, vmax=1.0)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def curve(
    ax: Axes,
    x: Sequence[float],
    curves: dict[str, Sequence[float]],
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    marker: str = "o",
) -> Axes:
    """Several named curves over the same x values, with a legend and labelled axes."""
    for name, values in curves.items():
        ax.plot(list(x), list(values), marker=marker, markersize=4, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    return ax


def heatmap(
    ax: Axes,
    matrix: torch.Tensor | np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    fmt: str = "{:.0%}",
    vmin: float = 0.0,
    vmax: float = 1.0,
    cmap: str = "viridis",
) -> Axes:
    """A matrix of rates as coloured cells with the value written in each cell, e.g. the
    transfer matrix of :func:`advlib.metrics.transfer_matrix` (rows: sources, columns: targets).

    Args:
        ax: where to draw. matrix: shape (R, C). row_labels, col_labels: R and C names.
        xlabel, ylabel: axis labels. title: optional title.
        fmt: format of the written values. vmin, vmax: range of the colour map.
    """
    values = np.asarray(torch.as_tensor(matrix, dtype=torch.float64))
    if values.shape != (len(row_labels), len(col_labels)):
        raise ValueError(
            f"matrix has shape {values.shape}, labels give {(len(row_labels), len(col_labels))}"
        )
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax)
    threshold = vmin + 0.6 * (vmax - vmin)
    for (i, j), value in np.ndenumerate(values):
        ax.text(
            j,
            i,
            fmt.format(value),
            ha="center",
            va="center",
            color="black" if value > threshold else "white",
        )
    ax.set_xticks(range(len(col_labels)), labels=list(col_labels))
    ax.set_yticks(range(len(row_labels)), labels=list(row_labels))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(False)
    if title:
        ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return ax


def adversarial_grid(
    model: nn.Module,
    x: torch.Tensor,
    x_adv: torch.Tensor,
    *,
    norm: str | float = "linf",
    size: float = 1.4,
    suptitle: str | None = None,
) -> Figure:
    r"""Attacked images in three rows: the originals, the perturbations
    :math:`\eta = x' - x` and the adversarial images :math:`x'`.

    Originals and adversarial images are titled with the predicted class and its confidence
    (:func:`prediction_titles`). The perturbations share one diverging colour scale,
    :math:`\pm \max |\eta_i|` over all of them, so a faint perturbation is amplified to full
    colour; the colour bar gives the scale in pixel values, and each title gives
    :math:`\|\eta\|_p`.

    Args:
        model: the attacked classifier. x, x_adv: images of shape (N, 1, h, w) in [0, 1].
        norm: the norm written in the perturbations' titles. size: inches per image.

    >>> fig = adversarial_grid(model, x, pgd(model, x, y, eps=0.1), norm="linf")  # doctest: +SKIP
    """
    if x.shape != x_adv.shape:
        raise ValueError(
            f"x and x_adv must have the same shape, got {tuple(x.shape)} and {tuple(x_adv.shape)}"
        )
    n = len(x)
    eta = (x_adv - x).detach()
    bound = float(eta.abs().max()) or 1.0
    symbol = {1.0: "1", 2.0: "2", math.inf: r"\infty"}[as_p(norm)]
    rows = [
        (x, prediction_titles(model, x)),
        (eta, [f"$\\|\\eta\\|_{{{symbol}}}$ = {float(r):.2f}" for r in lp_norm(eta, norm)]),
        (x_adv, prediction_titles(model, x_adv)),
    ]
    fig, axes = plt.subplots(3, n, figsize=(size * n + 1.2, 3 * (size + 0.35)), squeeze=False)
    for r, (images, titles) in enumerate(rows):
        for i in range(n):
            ax = axes[r, i]
            image = images[i].detach().reshape(images.shape[-2:]).cpu().numpy()
            if r == 1:
                shown = ax.imshow(image, cmap="RdBu_r", vmin=-bound, vmax=bound)
            else:
                ax.imshow(image, cmap="gray_r", vmin=0.0, vmax=1.0)
            ax.set_title(titles[i], fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            ax.spines[:].set_visible(False)
        axes[r, 0].set_ylabel(("original", "perturbation", "adversarial")[r])
    fig.colorbar(shown, ax=axes[1, :].tolist(), fraction=0.02, pad=0.01, label="pixel change")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def non_robust_balls(
    ax: Axes,
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    errors: torch.Tensor | np.ndarray,
    *,
    eps: float,
    norm: str | float = "linf",
    n_show: int | None = None,
) -> Axes:
    r"""The 2D picture of the robust risk: the decision regions of a 2D classifier, the first
    ``n_show`` points with their ε-balls, black where the point is a robust error and grey
    elsewhere, and a title with :math:`\mathcal{R}_{rob}`, the share of robust errors over
    *all* points (not only those shown).

    ``errors`` is the robust error indicator of each point,
    :math:`\max_{\|\eta\|_p \le \epsilon} \mathbb{1}[g(x + \eta) \ne k]`, e.g. from
    :func:`advlib.metrics.robust_errors` after :func:`advlib.attacks.dense_search` (which
    makes it exact in the plane).

    Args:
        ax: where to draw. model: a 2D classifier. X: points (N, 2). y: labels (N,).
        errors: N booleans, True where the ball of the point holds a misclassified point.
        eps: radius of the balls. norm: their norm (a square for L∞, a disc for L2).
        n_show: draw only the first ``n_show`` points (default: all).

    >>> x_adv = dense_search(model, X, y, eps=0.06, norm="l2")  # doctest: +SKIP
    >>> non_robust_balls(ax, model, X, y, predict(model, x_adv) != y, eps=0.06, norm="l2")  # doctest: +SKIP
    """
    errors = torch.as_tensor(np.asarray(errors), dtype=torch.bool)
    if errors.shape != (len(X),):
        raise ValueError(
            f"errors must hold one flag per point, shape ({len(X)},), got {tuple(errors.shape)}"
        )
    shown = len(X) if n_show is None else n_show
    colors = ["black" if flag else "0.7" for flag in errors[:shown].tolist()]
    decision_boundary(ax, model, X[:shown], y[:shown], eps=eps, norm=norm, ball_colors=colors)
    name = {1.0: "$L_1$ diamonds", 2.0: "$L_2$ discs", math.inf: "$L_\\infty$ squares"}[as_p(norm)]
    risk = float(errors.float().mean())
    ax.set_title(f"{name}, ε = {eps:.2f}: $\\mathcal{{R}}_{{rob}}$ = {risk:.1%}")
    return ax


@dataclass(frozen=True)
class Slider:
    """Figures on a slider that works on the static page: no kernel, no CDN.

    Made by :func:`slider`. In a notebook or the HTML book it displays as a range input
    and one image per position (PNG data URIs; a few lines of inline script show the image
    the input selects); in the PDF, and anywhere HTML is not shown, as the start frame.
    """

    frames: tuple[bytes, ...]  # PNG bytes, rendered at twice the figure's pixel density
    labels: tuple[str, ...]
    label: str
    alt: str
    start: int
    width: int  # displayed width in CSS pixels (the PNGs are twice as wide)

    def __repr__(self) -> str:  # the output's text/plain: no picture bytes, stable everywhere
        return f"<Slider: {len(self.frames)} frames of {self.label!r}>"

    def _repr_html_(self) -> str:
        images = "".join(
            f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}" '
            f'alt="{html.escape(self.alt)} ({html.escape(text)})" width="{self.width}" '
            f'style="max-width:100%;height:auto"{"" if i == self.start else " hidden"}>'
            for i, (png, text) in enumerate(zip(self.frames, self.labels))
        )
        labels = html.escape(json.dumps(list(self.labels)))
        show = (
            "const s=this.closest('.advlib-slider');"
            "s.querySelectorAll('img').forEach((m,i)=>{m.hidden=i!=this.value;});"
            "s.querySelector('output').textContent=JSON.parse(s.dataset.labels)[this.value];"
        )
        return (
            f'<div class="advlib-slider" data-labels="{labels}">'
            f"<label>{html.escape(self.label)} "
            f'<input type="range" min="0" max="{len(self.frames) - 1}" step="1" '
            f'value="{self.start}" aria-label="{html.escape(self.label)}" oninput="{show}"> '
            f"<output>{html.escape(self.labels[self.start])}</output></label>"
            f"<div>{images}</div></div>"
        )

    def _repr_png_(self) -> bytes:
        return self.frames[self.start]


def slider(
    figures: Sequence[Figure],
    labels: Sequence[str],
    *,
    label: str,
    alt: str,
    start: int = 0,
) -> Slider:
    """A slider over precomputed figures, for a reader of the static page to move.

    Each figure is rendered once to PNG at twice its pixel density (sharp on high-density
    screens) and closed; ``labels[i]`` names position ``i`` (e.g. ``"ε = 0.10"``), ``label``
    names the slider, ``alt`` describes the picture for screen readers. Display the result
    (last expression of a cell). Keep the frames few and small: each is stored in the page.

    >>> frames = [plt.figure() for eps in (0.1, 0.2)]  # doctest: +SKIP
    >>> slider(frames, ["ε = 0.1", "ε = 0.2"], label="budget", alt="boundary")  # doctest: +SKIP
    """
    if len(figures) == 0 or len(figures) != len(labels):
        raise ValueError(
            f"figures and labels must be non-empty and of equal length, "
            f"got {len(figures)} figures and {len(labels)} labels"
        )
    if not 0 <= start < len(figures):
        raise ValueError(f"start must be in [0, {len(figures) - 1}], got {start}")
    frames = []
    for figure in figures:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=2 * figure.dpi)
        frames.append(buffer.getvalue())
        plt.close(figure)
    width = round(figures[0].get_figwidth() * figures[0].dpi)
    return Slider(tuple(frames), tuple(labels), label, alt, start, width)
