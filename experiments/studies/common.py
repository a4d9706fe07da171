"""What the study configs share: field checks and the PE, timing and operand field groups.

A study config is a frozen, keyword-only dataclass derived from
:class:`experiments.vocabulary.ConfigFields` (an unknown keyword names the nearest field)
that validates itself in ``__post_init__`` and raises :class:`pe_models.errors.ConfigError`
with a message that starts with the *field* name (``vdd_v: ...``), never a command-line
option; the command line translates field names to its options in one place
(:func:`experiments.options.cli_message`, called by :func:`experiments.cli.main`).

The field groups are mixins: a config that evaluates timing at one operating point
inherits :class:`TimingFields` (which includes :class:`PEFields`), a voltage sweep
:class:`SweepFields`, a study on an operand stream :class:`OperandFields`. Each group's
``__post_init__`` checks its own fields and calls the next one in the MRO, so a config
class only checks the fields it adds, after ``super().__post_init__()``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from experiments.technology_files import resolve_user_technology
from experiments.validation import integer, vdd_values
from experiments.vocabulary import ConfigFields, resolve_names
from pe_models.cells import parse_cell_delays
from pe_models.errors import ConfigError
from pe_models.operands import OPERAND_SOURCES, OperandStream, load_trace, synthetic_stream
from pe_models.pe import (
    OperatingPoint,
    PEConfig,
    StageTiming,
    critical_path_ps,
    max_error_free_f_clk_mhz,
    slack_ratio,
    stage_timing,
)
from pe_models.technology import DEFAULT_TECHNOLOGY
from sim.config import DATAFLOWS, ArrayConfig

__all__ = [
    "DEFAULT_F_CLK_MHZ",
    "DEFAULT_VDD_SWEEP",
    "OperandFields",
    "PEFields",
    "Progress",
    "Study",
    "SweepFields",
    "TimingFields",
    "array_shape",
    "as_config",
    "check_choice",
    "check_images",
    "check_int",
    "check_labels",
    "check_model",
    "check_not_with_plan",
    "check_number",
    "check_topology",
    "config_dict",
    "default_vdd_sweep",
    "gemm_shape",
    "no_progress",
    "parse_razor_window",
    "resolve_array",
    "set_field",
    "timing_totals",
    "vdd_values",
]

DEFAULT_VDD_SWEEP: tuple[float, ...] = tuple(round(0.9 - 0.05 * i, 6) for i in range(9))
"""0.9 V down to 0.5 V in 50 mV steps."""

DEFAULT_F_CLK_MHZ = 700.0
"""The clock of :class:`TimingFields` with ``vdd_v`` when ``f_clk_mhz`` is not given."""


def default_vdd_sweep(technology: Any) -> tuple[float, ...]:
    """The default sweep of a technology: :data:`DEFAULT_VDD_SWEEP` (0.9 -> 0.5 V) for a nominal
    0.9 V; otherwise from the nominal supply down in 50 mV steps, nine supplies at most, none
    below the technology's lowest (finfet-7nm: 0.7 -> 0.3 V)."""
    nominal = float(technology.vdd_nominal_v)
    if nominal == 0.9:
        return DEFAULT_VDD_SWEEP
    low = getattr(technology, "vdd_min_v", None) or float(technology.vth_v) + 1e-9
    return tuple(round(nominal - 0.05 * i, 6) for i in range(9) if nominal - 0.05 * i >= low - 1e-9)


T = TypeVar("T")
C = TypeVar("C")
Progress = Callable[..., Iterable[Any]]
"""``progress(items, *, total=None, label="") -> iterable`` (e.g. :func:`experiments.output.progress`)."""


@dataclass(frozen=True, kw_only=True)
class Study:
    """One registered study (see :data:`experiments.studies.STUDIES`).

    Attributes
    ----------
    name : str
        Registry key (also the ``vscale`` command that runs it, where there is one).
    config_type : type
        Frozen keyword-only config dataclass; ``config_type(**fields)`` validates.
    function : callable
        ``function(config) -> StudyResult``.
    summary : str
        One line shown in listings.
    """

    name: str
    config_type: type
    function: Callable[..., Any]
    summary: str = ""

    def __call__(self, config: Any = None, /, **fields: Any) -> Any:
        """Run on `config`, or on ``config_type(**fields)``."""
        return self.function(as_config(self.config_type, config, fields))


def no_progress(items: Iterable[T], *, total: int | None = None, label: str = "") -> Iterator[T]:
    """The default progress hook of a study: yields `items`, draws nothing."""
    yield from items


def as_config(config_type: type[C], config: C | None, fields: Mapping[str, Any]) -> C:
    """`config` itself, or ``config_type(**fields)``; both at once is an error.

    ``config=`` given by keyword is the config too (``vscale.latency(config=LatencyConfig(...))``),
    unless the config takes ``config`` as a keyword alias of a field (the SCALE-Sim drop-in's
    ``config=`` file).

    Raises
    ------
    UnknownFieldError
        A keyword that is not a field (``vdd: not a field of AccuracyConfig; did you mean
        vdd_v?``), before anything is built.
    """
    if config is None and isinstance(fields.get("config"), config_type):
        config, fields = fields["config"], {key: value for key, value in fields.items() if key != "config"}
    if config is None:
        return config_type(**resolve_names(config_type, fields))
    if fields:
        raise TypeError(f"give a {config_type.__name__} or keyword arguments, not both")
    if not isinstance(config, config_type):
        raise TypeError(f"expected a {config_type.__name__}, got {type(config).__name__}")
    return config


def set_field(config: object, name: str, value: object) -> None:
    """Normalise a field of a frozen config in its ``__post_init__``."""
    object.__setattr__(config, name, value)


def check_int(name: str, value: object, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """`value` as an int within [minimum, maximum]; ConfigError naming `name` otherwise.

    The one integer check of every command and study: :func:`experiments.validation.integer`.
    """
    return integer(name, value, minimum=minimum, maximum=maximum)


def check_number(
    name: str,
    value: object,
    *,
    unit: str,
    minimum: float | None = None,
    maximum: float | None = None,
    open_minimum: bool = False,
) -> float:
    """`value` as a finite float within the bounds; ConfigError naming `name` and `unit` otherwise."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    number = float(value) if ok else math.nan  # type: ignore[arg-type]
    below = minimum is not None and (number <= minimum if open_minimum else number < minimum)
    above = maximum is not None and number > maximum
    if not ok or not math.isfinite(number) or below or above:
        left = "(" if open_minimum else "["
        low = "-inf" if minimum is None else f"{minimum:g}"
        high = "inf)" if maximum is None else f"{maximum:g}]"
        raise ConfigError(f"{name}: expected a number of {unit} in {left}{low}, {high}, got {value!r}")
    return number


def check_not_with_plan(config: object, names: Sequence[str]) -> None:
    """Refuse the fields a plan file sets for every layer when they are given (not at their
    default) together with ``plan``: the plan would silently replace them."""
    if getattr(config, "plan", None) is None:
        return
    defaults = {item.name: item.default for item in dataclasses.fields(config)}  # type: ignore[arg-type]
    for name in names:
        if getattr(config, name) != defaults[name]:
            raise ConfigError(f"{name}: given with plan, which sets it for every layer; give one of them")


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """`value` if it is one of `choices`; ConfigError listing them otherwise."""
    allowed = tuple(choices)
    if value not in allowed:
        raise ConfigError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def parse_razor_window(value: object, t_clk_ps: float, name: str = "razor_window_ps") -> float | None:
    """A Razor detection window in ps: a number, ``"150"`` (ps) or ``"25%"`` (of `t_clk_ps`); None stays None.

    The one reader of a window for every study and command; the value must lie in
    ``[0, t_clk_ps]``.

    Raises
    ------
    ConfigError
        ``razor_window_ps: expected ps or a percentage of the clock period (e.g. 150 or 25%), got 'x'``,
        or a window that is negative or longer than the clock period (:func:`pe_models.razor.window_fs`).
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text[:-1]) / 100.0 * t_clk_ps if text.endswith("%") else float(text)
        except ValueError:
            raise ConfigError(
                f"{name}: expected ps or a percentage of the clock period (e.g. 150 or 25%), got {value!r}"
            ) from None
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    number = float(value) if ok else math.nan  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ConfigError(f"{name}: expected a number of ps in 0..{t_clk_ps:g}, got {value!r}")
    if number < 0:
        raise ConfigError(f"{name}: {number:g} ps is negative; allowed: 0..{t_clk_ps:g} ps")
    if number > t_clk_ps:
        raise ConfigError(
            f"{name}: {number:g} ps is longer than the clock period {t_clk_ps:g} ps; allowed: 0..{t_clk_ps:g} ps"
        )
    return number


def _cell_delays(value: object) -> tuple[tuple[str, float], ...] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return tuple(sorted(parse_cell_delays(value).items()))
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, Iterable):
        items = value  # type: ignore[assignment]
    else:
        raise ConfigError(f"cell_delays_ps: expected a mapping of cell to ps or 'CELL=PS,...', got {value!r}")
    try:
        text = ",".join(f"{cell}={delay}" for cell, delay in items)
    except (TypeError, ValueError):
        raise ConfigError(f"cell_delays_ps: expected a mapping of cell to ps or 'CELL=PS,...', got {value!r}") from None
    return tuple(sorted(parse_cell_delays(text).items())) if text else None


def _chain_post_init(config: object, cls: type) -> None:
    parent = super(cls, config)  # type: ignore[arg-type]
    hook = getattr(parent, "__post_init__", None)
    if hook is not None:
        hook()


@dataclass(frozen=True, kw_only=True)
class PEFields(ConfigFields):
    """What the PE is made of (see :class:`pe_models.pe.PEConfig`).

    Attributes
    ----------
    cells : str
        Cell library: ``compound`` (XOR3/MAJ3 full adders) or ``2in`` (2-input cells).
    cell_delays_ps : mapping of str to float, or "CELL=PS,...", optional
        Cell delays in ps at nominal VDD replacing the library's, e.g. ``xor2=30,and2=20``
        (kept as sorted (cell, ps) pairs; default: the library's).
    adder : str
        Accumulator adder: ``rca`` (ripple-carry) or ``ks`` (Kogge-Stone).
    pipeline : str
        ``registered`` (product registered, the stages timed apart) or ``fused``
        (multiply-add in one cycle).
    width : int
        Accumulator width in bits, 16..62.
    technology : str, path or technology object
        Voltage-scaling preset (``vscale tech list``), a fitted ``FILE.toml`` or a
        ``FILE.csv`` of ``vdd_v,delay_scale`` points (loaded once), or a
        :class:`~pe_models.technology.Technology` / ``TabulatedTechnology``.
    """

    CHOICES: ClassVar[Mapping[str, Sequence[str]]] = {
        "cells": ("compound", "2in"),
        "adder": ("rca", "ks"),
        "pipeline": ("registered", "fused"),
    }

    cells: str = "compound"
    cell_delays_ps: Any = None
    adder: str = "rca"
    pipeline: str = "registered"
    width: int = 32
    technology: Any = DEFAULT_TECHNOLOGY

    def __post_init__(self) -> None:
        set_field(self, "cell_delays_ps", _cell_delays(self.cell_delays_ps))
        set_field(self, "technology", resolve_user_technology(self.technology))
        self.pe_config()
        _chain_post_init(self, PEFields)

    def pe_config(self) -> PEConfig:
        """The :class:`~pe_models.pe.PEConfig` of these fields."""
        return PEConfig(
            cells=self.cells,
            cell_delays_ps=None if self.cell_delays_ps is None else dict(self.cell_delays_ps),
            adder=self.adder,
            pipeline=self.pipeline,
            width=self.width,
            technology=self.technology,
        )


@dataclass(frozen=True, kw_only=True)
class TimingFields(PEFields):
    """PE fields plus one operating point: ``vdd_v`` with ``f_clk_mhz``, or ``t_clk_ps`` [with ``delay_scale``].

    Attributes
    ----------
    vdd_v : float, optional
        Supply voltage in V, inside the technology's range (the technology gives the delay
        scale); one of `vdd_v` and `t_clk_ps` is required.
    f_clk_mhz : float, optional
        Clock frequency in MHz with `vdd_v`, > 0 and <= 20000 (default: 700). With
        `t_clk_ps` it is the clock of that period; a different one given is refused.
    t_clk_ps : float, optional
        Clock period in ps instead of `vdd_v`, > 0 and longer than the setup time.
    delay_scale : float, optional
        Cell delays relative to nominal with `t_clk_ps`, > 0 and <= 1000 (default: 1).
    t_setup_ps : float, optional
        Setup time of the output flip-flops at this operating point in ps, >= 0 and shorter
        than the clock period (default: the cell library's 25 ps at nominal VDD, scaled with
        the cell delays).
    """

    vdd_v: float | None = None
    f_clk_mhz: float | None = None
    t_clk_ps: float | None = None
    delay_scale: float | None = None
    t_setup_ps: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.t_clk_ps is not None:
            if self.vdd_v is not None:
                raise ConfigError("vdd_v: give either t_clk_ps (with delay_scale) or vdd_v with f_clk_mhz, not both")
        else:
            if self.delay_scale is not None:
                raise ConfigError("delay_scale: only with t_clk_ps; with vdd_v the technology gives the scale")
            if self.vdd_v is None:
                raise ConfigError("vdd_v: give vdd_v (with f_clk_mhz) or t_clk_ps")
            if self.f_clk_mhz is None:
                set_field(self, "f_clk_mhz", DEFAULT_F_CLK_MHZ)
        self.timing()
        if self.t_clk_ps is not None:
            self._one_clock(1e6 / float(self.t_clk_ps))

    def _one_clock(self, clock_mhz: float) -> None:
        """With ``t_clk_ps`` the clock is its own: `f_clk_mhz` becomes it, and a different one given is refused.

        Given means not None, whatever the value: 700 MHz (the default with `vdd_v`) given
        beside a 2000 ps period is refused like any other disagreeing clock.
        """
        given = self.f_clk_mhz
        number = isinstance(given, int | float) and not isinstance(given, bool)
        if given is not None and not (number and math.isclose(given, clock_mhz, rel_tol=1e-9)):
            raise ConfigError(
                f"f_clk_mhz: {given:g} MHz, but t_clk_ps {self.t_clk_ps:g} ps is a {clock_mhz:.6g} MHz clock; "
                "give one of them"
                if number
                else f"f_clk_mhz: expected a number of MHz, got {given!r}"
            )
        set_field(self, "f_clk_mhz", clock_mhz)

    def operating_point(self) -> OperatingPoint | None:
        """The operating point (None when timed by ``t_clk_ps``)."""
        if self.vdd_v is None:
            return None
        assert self.f_clk_mhz is not None  # __post_init__ sets it with vdd_v
        return OperatingPoint(vdd_v=self.vdd_v, f_clk_mhz=self.f_clk_mhz)

    def timing(self) -> StageTiming:
        """The PE timing of these fields."""
        pe = self.pe_config()
        extra: dict[str, Any] = {} if self.t_setup_ps is None else {"t_setup_ps": self.t_setup_ps}
        point = self.operating_point()
        if point is None:
            return stage_timing(pe, t_clk_ps=self.t_clk_ps, delay_scale=self.delay_scale, **extra)
        return stage_timing(pe, operating_point=point, **extra)

    def timing_totals(self, pe: PEConfig) -> dict[str, Any]:
        """:func:`timing_totals` of `pe` at this operating point (critical path only with ``t_clk_ps``)."""
        if self.vdd_v is None:
            return timing_totals(pe, None)
        return timing_totals(pe, self.f_clk_mhz, (self.vdd_v,), self.t_setup_ps)


@dataclass(frozen=True, kw_only=True)
class SweepFields(PEFields):
    """PE fields plus a voltage sweep at one clock frequency.

    Attributes
    ----------
    vdd_v : sequence of float, float or "START:STOP:STEP"
        Supply voltages in V: ``START:STOP:STEP`` (inclusive, either direction), ``V1,V2,...``
        or one voltage, each inside the technology's range.
    f_clk_mhz : float
        Clock frequency in MHz, > 0 and <= 20000.
    t_setup_ps : float, optional
        Setup time of the output flip-flops in ps, the same at every voltage of the sweep,
        >= 0 and shorter than the clock period (default: the cell library's 25 ps at nominal
        VDD, scaled with the cell delays at each voltage).
    """

    vdd_v: Any = DEFAULT_VDD_SWEEP
    f_clk_mhz: float = 700.0
    t_setup_ps: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.vdd_v is DEFAULT_VDD_SWEEP:
            set_field(self, "vdd_v", default_vdd_sweep(self.pe_config().tech))
        set_field(self, "vdd_v", vdd_values(self.vdd_v))
        self.timings()

    def timings(self) -> list[StageTiming]:
        """The PE timing at every voltage of the sweep, in order."""
        pe = self.pe_config()
        return [
            stage_timing(
                pe, operating_point=OperatingPoint(vdd_v=v, f_clk_mhz=self.f_clk_mhz), t_setup_ps=self.t_setup_ps
            )
            for v in self.vdd_v
        ]

    def timing_totals(self, pe: PEConfig) -> dict[str, Any]:
        """:func:`timing_totals` of `pe` over the sweep."""
        return timing_totals(pe, self.f_clk_mhz, self.vdd_v, self.t_setup_ps)


@dataclass(frozen=True, kw_only=True)
class OperandFields(ConfigFields):
    """Where the PE's operands come from.

    Attributes
    ----------
    operands : str or path
        Operand source: ``uniform`` int8 values and partial sums, ``dnn`` (a synthetic
        weight-stationary column, :func:`pe_models.operands.synthetic_stream`) or a
        ``.npz`` trace with arrays a, b, c (``vscale trace``).
    array_rows : int
        Array rows (the column depth) of the ``dnn`` operand model, >= 1.
    seed : int
        Seed of the synthetic operands, >= 0.
    """

    operands: str = "dnn"
    array_rows: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.operands, Path):
            set_field(self, "operands", str(self.operands))
        if self.operands not in OPERAND_SOURCES and not str(self.operands).endswith(".npz"):
            raise ConfigError(f"operands: expected uniform, dnn or a .npz trace file, got {self.operands!r}")
        if self.operands not in OPERAND_SOURCES and not Path(self.operands).exists():
            raise ConfigError(f"{self.operands}: no such trace file")
        check_int("array_rows", self.array_rows, minimum=1)
        check_int("seed", self.seed, minimum=0)
        _chain_post_init(self, OperandFields)

    def operand_stream(self, *, lanes: int, steps: int) -> OperandStream:
        """The operand stream: synthetic (`lanes` x `steps`, seeded) or the trace file."""
        if self.operands in OPERAND_SOURCES:
            return synthetic_stream(
                self.operands, lanes=lanes, steps=steps, seed=np.random.SeedSequence(self.seed), depth=self.array_rows
            )
        from experiments.validation import memory_limit

        return load_trace(self.operands, width=getattr(self, "width", None), max_bytes=memory_limit())


def check_model(value: object, name: str = "model", *, files: bool = True) -> str:
    """A model name of :data:`workloads.models.MODEL_NAMES` or (with `files`) an existing ``.onnx`` file.

    Raises
    ------
    ConfigError
        ``model: expected one of tinymnv2, mobilenetv2 or a float ONNX file, got 'nope'``, or an
        ONNX file that does not exist.
    """
    from workloads.models import MODEL_NAMES

    text = str(value) if isinstance(value, str | Path) else None
    if text in MODEL_NAMES:
        return text
    if files and text is not None and text.lower().endswith(".onnx"):
        if not Path(text).is_file():
            raise ConfigError(f"{name}: {text}: no such ONNX file")
        return text
    allowed = ", ".join(MODEL_NAMES) + (" or a float ONNX file" if files else "")
    raise ConfigError(f"{name}: expected one of {allowed}, got {value!r}")


@functools.cache
def _image_limit(model: str) -> int | None:
    """Evaluation images a model's bundled data holds (None: not known before loading it)."""
    from workloads.data import mnist_test_set
    from workloads.models.zoo import PHOTO_NAMES

    if model == "tinymnv2":
        labels = mnist_test_set().labels
        return None if labels is None else len(labels)
    if model == "mobilenetv2":
        return 10 * len(PHOTO_NAMES["evaluation"])
    return None


def check_images(value: object, *, model: str, name: str = "images", folder: bool = True) -> int | str | None:
    """Evaluation images: a count, 1 .. what `model`'s bundled data holds, or (with `folder`) a folder.

    ``"300"`` is the count 300, a folder is returned as text; None (the model's default) stays None.

    Raises
    ------
    ConfigError
        ``images: expected a positive integer, got 0``, ``images: 5000 is out of range;
        allowed: 1..1000``, or a path that is not a folder.
    """
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        count = check_int(name, value, minimum=1)
        limit = _image_limit(model)
        if limit is not None and count > limit:
            raise ConfigError(f"{name}: {count} is out of range; allowed: 1..{limit}")
        return count
    if folder and isinstance(value, str | Path) and str(value).strip():
        if not Path(value).is_dir():
            raise ConfigError(f"{name}: {str(value)!r} is neither a number of images nor a directory")
        return str(value)
    allowed = "a positive number of images" + (" or a folder of images" if folder else "")
    raise ConfigError(f"{name}: expected one of {allowed}, got {value!r}")


def check_labels(images: object, labels: object) -> None:
    """`labels` goes with a folder of `images` (after :func:`check_images`), and only with one.

    Raises
    ------
    ConfigError
        ``labels: only with images given as a folder of images``, or ``images: DIR is a
        folder; labels (a FILE LABEL list) is required with it``.
    """
    if labels is not None and not isinstance(images, str):
        raise ConfigError("labels: only with images given as a folder of images")
    if isinstance(images, str) and labels is None:
        raise ConfigError(f"images: {images} is a folder; labels (a FILE LABEL list) is required with it")


def check_topology(value: object, name: str = "topology") -> str:
    """A topology: an existing CSV file or a built-in name (:data:`workloads.topologies.BUILTIN_TOPOLOGIES`).

    Raises
    ------
    ConfigError
        ``topology: 'nope' is neither a file nor a built-in topology; allowed: a CSV file
        or one of mobilenetv2, resnet18, resnet50``.
    """
    from workloads.topologies import BUILTIN_TOPOLOGIES

    text = os.fspath(value) if isinstance(value, str | os.PathLike) else None
    if text is None or not (text in BUILTIN_TOPOLOGIES or Path(text).is_file()):
        raise ConfigError(
            f"{name}: {value!r} is neither a file nor a built-in topology; "
            f"allowed: a CSV file or one of {', '.join(BUILTIN_TOPOLOGIES)}"
        )
    return str(text)


def gemm_shape(value: object, name: str = "gemm") -> tuple[int, int, int]:
    """A GEMM ``C[M, N] = A[M, K] @ B[K, N]`` from ``"M,N,K"`` or ``(M, N, K)``, each >= 1.

    Raises
    ------
    ConfigError
        ``gemm: expected M,N,K with positive integers, e.g. 64,32,27, got '...'``.
    """
    text = ",".join(str(v) for v in value) if isinstance(value, tuple | list) else str(value)
    match = re.fullmatch(r"\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*", text)
    if match is None or 0 in (int(v) for v in match.groups()):
        raise ConfigError(f"{name}: expected M,N,K with positive integers, e.g. 64,32,27, got {value!r}")
    m, n, k = (int(v) for v in match.groups())
    return m, n, k


def array_shape(value: object, name: str = "array") -> tuple[int, int]:
    """An array shape from ``"RxC"`` or ``(rows, cols)``; ConfigError naming `name` otherwise."""
    from experiments.configs import parse_array_shape

    if isinstance(value, str):
        return parse_array_shape(value, option=name)
    if isinstance(value, Sequence) and len(value) == 2:
        rows, cols = (check_int(name, v, minimum=1) for v in value)
        return rows, cols
    raise ConfigError(f"{name}: expected ROWSxCOLS with positive integers, e.g. 256x256, got {value!r}")


def resolve_array(
    *,
    config_file: str | Path | None = None,
    array: object = None,
    dataflow: str | None = None,
    bandwidth: object = None,
    f_clk_mhz: float | None = None,
) -> ArrayConfig:
    """The array of a study: defaults (256x256 ws), then `config_file`, then the other fields.

    Errors name the fields ``array``, ``dataflow``, ``bandwidth``, ``f_clk_mhz``.
    """
    from experiments.configs import parse_bandwidth, resolve_array_config

    config = resolve_array_config(config_file=None if config_file is None else str(config_file))
    changes: dict[str, Any] = {}
    if array is not None:
        changes["rows"], changes["cols"] = array_shape(array)
    if dataflow is not None:
        changes["dataflow"] = check_choice("dataflow", dataflow, DATAFLOWS)
    if bandwidth is not None:
        if isinstance(bandwidth, str):
            changes["dram_bandwidth_words_per_cycle"] = parse_bandwidth(bandwidth, option="bandwidth")
        else:
            value = check_number("bandwidth", bandwidth, unit="words per cycle", minimum=0, open_minimum=True)
            changes["dram_bandwidth_words_per_cycle"] = int(value) if value.is_integer() else value
    if f_clk_mhz is not None:
        changes["f_clk_mhz"] = check_number("f_clk_mhz", f_clk_mhz, unit="MHz", minimum=0, open_minimum=True)
    return dataclasses.replace(config, **changes)


def config_dict(config: object) -> dict[str, Any]:
    """The init fields of a config dataclass as a dict (for ``config.json``)."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.init}  # type: ignore[arg-type]


def timing_totals(
    pe: PEConfig, f_clk_mhz: float | None, vdds: Iterable[float] = (), t_setup_ps: float | None = None
) -> dict[str, Any]:
    """The PE's timing regime, for a study's totals.

    ``critical_path_ps`` (longest path plus setup at nominal VDD), ``slack_ratio`` (clock
    period / critical path at nominal VDD, when there is a clock) and
    ``max_error_free_f_clk_mhz`` (the highest clock meeting every path at each VDD of
    `vdds` with the setup time `t_setup_ps` if given, keyed by the voltage written as in the
    rows, e.g. ``"0.55"``).
    """
    totals: dict[str, Any] = {"critical_path_ps": critical_path_ps(pe)}
    if f_clk_mhz is not None:
        totals["slack_ratio"] = slack_ratio(pe, f_clk_mhz)
    clocks = {f"{float(v):g}": max_error_free_f_clk_mhz(pe, float(v), t_setup_ps) for v in vdds}
    if clocks:
        totals["max_error_free_f_clk_mhz"] = clocks
    return totals
