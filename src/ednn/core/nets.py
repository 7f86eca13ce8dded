"""Tile networks: each maps one tile (B, C, *t) to contributions (B, outputs).

Every network here is built from the tile geometry (`tile` edge t = f + 2c,
`ndim` spatial dimensions, `channels`, `outputs`) plus its own options. Its constructor's
signature is the one source of its options and their defaults: `register_net` records the
arguments each instance was built with in `.config`, so a saved model can be rebuilt by name,
and `net_options` lists what a user may set. No activation follows the output layer. Any other
`torch.nn.Module` with the same contract works inside `EDNN`; register it with `register_net`
to save and load it by name. A network that is evaluated otherwise than on tile copies says so
by its `evaluation` attribute (`ednn.core.evaluation`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ednn.core.errors import EDNNError
from ednn.core.evaluation import DENSITY_OVER_GRID

_NETS: dict[str, type[nn.Module]] = {}
#: Constructor arguments fixed by the EDNN's geometry, not options a user sets.
GEOMETRY_ARGUMENTS = ("tile", "ndim", "channels", "outputs", "context")


def _plain(value: Any) -> Any:
    """A JSON-able copy of a constructor argument (tuples become lists)."""
    return [_plain(v) for v in value] if isinstance(value, (tuple, list)) else value


def register_net(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: make a tile network buildable (and loadable) by `name`, recording the
    arguments of each instance (defaults filled in from the signature) in `.config`; a network
    whose default depends on its geometry (a None resolved in `__init__`) records the resolved
    value by setting `self.resolved_options` in its constructor."""

    def decorate(cls: type[nn.Module]) -> type[nn.Module]:
        init = cls.__init__
        signature = inspect.signature(init)

        @functools.wraps(init)
        def recording_init(self, *args: Any, **kwargs: Any) -> None:
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            init(self, *args, **kwargs)
            arguments = {**dict(list(bound.arguments.items())[1:]), **getattr(self, "resolved_options", {})}
            self.config = {k: _plain(v) for k, v in arguments.items()}

        cls.__init__ = recording_init
        cls.registered_name = name
        _NETS[name] = cls
        return cls

    return decorate


def net_names() -> list[str]:
    """Names of the registered tile networks, in the order they were registered."""
    return list(_NETS)


def net_parameters(name: str) -> dict[str, inspect.Parameter]:
    """The constructor parameters of tile network `name` a user may set (geometry left out)."""
    if name not in _NETS:
        raise EDNNError(f"unknown tile network {name!r}; known: {', '.join(net_names())}")
    parameters = list(inspect.signature(_NETS[name].__init__).parameters.values())[1:]
    return {
        p.name: p
        for p in parameters
        if p.name not in GEOMETRY_ARGUMENTS and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def net_options(name: str) -> dict[str, Any]:
    """The options of tile network `name` a user may set, with their defaults (from its signature)."""
    return {key: _plain(p.default) for key, p in net_parameters(name).items()}


def net_class(name: str) -> type[nn.Module]:
    """The registered tile network class called `name`."""
    net_parameters(name)  # a one-line error for an unknown name
    return _NETS[name]


def build_net(name: str, **config: Any) -> nn.Module:
    """Build a registered tile network from its name and configuration."""
    if name not in _NETS:
        raise EDNNError(f"unknown tile network {name!r}; known: {', '.join(net_names())}")
    try:
        return _NETS[name](**config)
    except TypeError as exc:  # an option the constructor does not take
        raise EDNNError(f"tile network {name!r}: {exc}; its options: {net_options(name)}") from None


def build_tile_net(name: str, focus: int, context: int, **config: Any) -> nn.Module:
    """Build a registered tile network for tiles of focus f and context c (edge f + 2c);
    networks that need the context itself (`needs_context`) are given it."""
    if getattr(_NETS.get(name), "needs_context", False):
        config["context"] = context
    return build_net(name, tile=focus + 2 * context, **config)


def _conv(ndim: int) -> type[nn.Module]:
    if ndim not in (1, 2, 3):
        raise EDNNError(f"convolutional tile networks support 1-3 spatial dimensions, got {ndim}")
    return (nn.Conv1d, nn.Conv2d, nn.Conv3d)[ndim - 1]


_ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU}


def _mlp(sizes: Sequence[int], activation: str = "relu") -> list[nn.Module]:
    """Dense layers of the given sizes with `activation` between them, none after the last."""
    if activation not in _ACTIVATIONS:
        raise EDNNError(f"unknown activation {activation!r}; known: {', '.join(_ACTIVATIONS)}")
    if any(int(size) != size or size < 1 for size in sizes):
        raise EDNNError(f"layer sizes must be whole numbers >= 1, got {list(sizes[1:-1])} hidden")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(_ACTIVATIONS[activation]())
    return layers


@register_net("dense")
class DenseTileNet(nn.Sequential):
    """Fully connected tile network; the paper's Ising net by default (§2.1).

    Layers: flatten, dense 32·t^ndim, dense 64, dense 64, dense `outputs`, ReLU
    between. `hidden` overrides the hidden sizes, `activation` ('relu' or 'silu', smooth:
    continuous forces for atoms) the nonlinearity.
    """

    def __init__(
        self,
        tile: int,
        ndim: int = 2,
        channels: int = 1,
        outputs: int = 1,
        hidden: Sequence[int] | None = None,
        activation: str = "relu",
    ):
        hidden = list(hidden) if hidden is not None else [32 * tile**ndim, 64, 64]
        super().__init__(nn.Flatten(), *_mlp([channels * tile**ndim, *hidden, outputs], activation))
        self.resolved_options = {"hidden": hidden}


@register_net("paper_cnn")
class PaperCNN(nn.Module):
    """The paper's 13-convolution, 2-dense network for atom images (§2.1).

    Two reducing 3×3 convolutions (64 filters, stride 2), six 4×4 convolutions
    (16 filters, stride 1), one reducing 3×3 (64, stride 2), four 3×3 (32), then
    dense 1024 and dense `outputs`. The tile edge must be a multiple of 8.
    """

    def __init__(self, tile: int, ndim: int = 2, channels: int = 1, outputs: int = 1):
        super().__init__()
        if tile % 8:
            raise EDNNError(f"paper_cnn needs a tile edge divisible by 8, got {tile}")
        conv = _conv(ndim)
        plan = [(64, 3, 2)] * 2 + [(16, 4, 1)] * 6 + [(64, 3, 2)] + [(32, 3, 1)] * 4
        layers: list[nn.Module] = []
        width = channels
        for filters, kernel, stride in plan:
            if kernel == 4:  # even kernel: pad 1 before, 2 after to keep the size
                layers.append((nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d)[ndim - 1]((1, 2) * ndim, 0.0))
            padding = 0 if kernel == 4 else 1
            layers += [conv(width, filters, kernel, stride=stride, padding=padding), nn.ReLU()]
            width = filters
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), *_mlp([32 * (tile // 8) ** ndim, 1024, outputs]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register_net("lean_cnn")
class LeanCNN(nn.Module):
    """A CPU-lean convolutional tile network: early striding, few channels.

    `widths` convolutions of 3×3, the first `strided` of them with stride 2, then a
    mean over the remaining positions and dense `hidden`, `outputs`.
    """

    def __init__(
        self,
        tile: int,
        ndim: int = 2,
        channels: int = 1,
        outputs: int = 1,
        widths: Sequence[int] = (16, 32, 32, 32),
        strided: int = 3,
        hidden: int = 64,
    ):
        super().__init__()
        conv = _conv(ndim)
        layers: list[nn.Module] = []
        width = channels
        for i, filters in enumerate(widths):
            stride = 2 if i < strided else 1
            layers += [conv(width, filters, 3, stride=stride, padding=1), nn.ReLU()]
            width = filters
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(*_mlp([width, hidden, outputs]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(2).mean(-1))


@register_net("atom_cnn")
class AtomCNN(nn.Module):
    """A CPU-lean CNN for atom images: strided 3×3 convolutions, then dense layers.

    Each of `widths` is a 3×3 convolution with stride 2 and SiLU (smooth, so energies
    have continuous forces); the feature map is flattened — keeping where in the tile a
    feature is, so focus and context stay distinguishable — into dense `hidden`, `outputs`.
    """

    def __init__(
        self,
        tile: int,
        ndim: int = 2,
        channels: int = 1,
        outputs: int = 1,
        widths: Sequence[int] = (16, 32, 64),
        hidden: int = 64,
    ):
        super().__init__()
        conv = _conv(ndim)
        layers: list[nn.Module] = []
        width, edge = channels, tile
        for filters in widths:
            layers += [conv(width, filters, 3, stride=2, padding=1), nn.SiLU()]
            width, edge = filters, (edge + 1) // 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(width * edge**ndim, hidden), nn.SiLU(), nn.Linear(hidden, outputs)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@register_net("local_density")
class LocalDensityNet(nn.Module):
    """A translation-equivariant energy density: the tile's value is the sum of a
    learned density over its focus region, each density cell seeing exactly the context.

    A stem of two 2×2 convolutions with stride 2 (`widths[0]`, `widths[1]`) maps 4×4
    pixels to one cell; `context // 4` valid 3×3 convolutions (`widths[1]` filters) widen
    each cell's view by 4 pixels per side each; 1×1 convolutions `hidden`, `outputs` give
    the density (times `gain`), summed over the focus region's (f/4)^ndim cells. SiLU
    throughout. Because every cell sees exactly its own 4 pixels plus c on every side,
    `EDNN` evaluates the density once over the whole grid instead of tile by tile (on a
    periodic grid each 3×3 convolution wraps around; otherwise over the padded grid): the
    same numbers, without the (t/f)^ndim overlap. Focus and context must be
    multiples of 4. Train it after `initialise` (training does this): a sum over
    thousands of cells is badly conditioned from a plain random start.
    """

    stride = 4
    needs_context = True
    evaluation = DENSITY_OVER_GRID

    def __init__(
        self,
        tile: int,
        ndim: int = 2,
        channels: int = 1,
        outputs: int = 1,
        *,
        context: int,
        widths: Sequence[int] = (32, 64),
        hidden: int = 128,
        gain: float = 1 / 16,
    ):
        super().__init__()
        focus = tile - 2 * context
        if context < 0 or focus < 1 or focus % self.stride or context % self.stride:
            raise EDNNError(
                f"local_density needs focus and context that are multiples of {self.stride}, got f={focus}, c={context}"
            )
        if len(widths) != 2:
            raise EDNNError(f"local_density takes two widths (the stem's two convolutions), got {list(widths)}")
        conv = _conv(ndim)
        first, width = widths
        layers: list[nn.Module] = [
            conv(channels, first, 2, stride=2),
            nn.SiLU(),
            conv(first, width, 2, stride=2),
            nn.SiLU(),
        ]
        for _ in range(context // self.stride):
            layers += [conv(width, width, 3), nn.SiLU()]
        layers += [conv(width, hidden, 1), nn.SiLU(), conv(hidden, outputs, 1)]
        self.layers = nn.Sequential(*layers)
        self.gain = gain

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """Density cells (N, outputs, *(P - 2c)/4) of a padded grid x (N, C, *P)."""
        return self.layers(x) * self.gain

    def periodic_density(self, x: torch.Tensor) -> torch.Tensor:
        """Density cells (N, outputs, *n/4) of a periodic grid x (N, C, *n), n multiples of 4:
        the numbers `density` gives for x padded periodically by the context, with each 3×3
        convolution wrapping around by one cell instead of running over a padded halo
        (for c = 24 on a 64×64 grid about 1.8× fewer multiply-adds)."""
        h = x
        for module in self.layers:
            if getattr(module, "kernel_size", (1,))[0] == 3:
                h = F.pad(h, [1] * (2 * (h.ndim - 2)), mode="circular")
            h = module(h)
        return h * self.gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.density(x).flatten(2).sum(-1)

    @torch.no_grad()
    def initialise(self, padded: torch.Tensor) -> None:
        """Data-dependent start from padded training grids (N, C, *P): every hidden
        convolution rescaled and shifted to give zero-mean, unit-variance outputs per
        filter on them, the output layer zero (the model starts at the fitted offsets)."""
        convs = [m for m in self.layers if isinstance(m, nn.Conv1d | nn.Conv2d | nn.Conv3d)]
        h = padded
        for module in self.layers:
            if module in convs[:-1]:
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                z = module(h)
                axes = [0, *range(2, z.ndim)]
                spread = z.std(axes).clamp_min(1e-6)
                module.weight /= spread.view(-1, *[1] * (z.ndim - 1))
                module.bias.copy_((module.bias - z.mean(axes)) / spread)
            h = module(h)
        nn.init.zeros_(convs[-1].weight)
        nn.init.zeros_(convs[-1].bias)
