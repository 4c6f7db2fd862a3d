"""ONNX Runtime backend: the model exported once (cached in ``models/`` in the data dir), int8 on CPU.

What makes it fast on 2 cores (benchmarks/embed_speed.py): the export uses eager attention so that
ONNX Runtime's transformer optimiser fuses each layer's attention into one ``Attention`` node (and
the embeddings into ``EmbedLayerNormalization``), then dynamic int8 quantisation of the weights (per
channel, signed: cosine to the float32 vectors ~0.99). Two fusions are left out on purpose because
their CPU kernels are slower than the parts: ``SkipLayerNormalization`` (3x a plain Add +
LayerNormalization) and ``BiasGelu`` (2x a Gelu whose bias the quantised MatMul adds). Mean pooling
and normalisation run inside the graph, the Rust fast tokenizer tokenises the next batches on a
thread, batches are length-sorted (see :class:`Embedder`) and run in slices of :data:`CPU_ROWS`
rows, one slice per core at once (single-threaded sessions scale better than operators split over
threads). On CUDA the graph is converted to fp16 and tokenisation overlaps the GPU work the same
way, deeper. Models other than Transformer + Pooling (mean or CLS) [+ Normalize] are refused with
:class:`OnnxExportError`; ``DAILYPAPERS_EMBEDDING_BACKEND=auto`` then uses sentence-transformers.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import threading
import warnings
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dailypapers.cpus import usable_cpus
from dailypapers.embeddings.encoder import Embedder, Vectors
from dailypapers.embeddings.model_files import model_slug, read_json

if TYPE_CHECKING:
    from dailypapers.config import Settings

log = logging.getLogger(__name__)

EXPORT_VERSION = 2  # bump when the exported graph changes: old exports are then ignored
OPSET = 17
# rows per session run on CPU; ms CPU per abstract at 256 tokens, 2 cores: 2 rows 28.7, 4: 27.2,
# 8: 29.3, 16: 32.4 (small slices keep the activations in the core's cache)
CPU_ROWS = 4
# fusions whose CPU kernels are slower than the separate operators (see the module docstring)
SLOW_FUSIONS = ["SkipLayerNormFusion"]
ALLOWED_MODULES = {
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
}
_export_lock = threading.Lock()


class OnnxExportError(Exception):
    """The model cannot be exported to / run with ONNX; ``auto`` then falls back to torch."""


def load_onnx(name: str, path: Path, settings: Settings, device: str) -> Embedder:
    """An embedder running ``path``'s model with ONNX Runtime (exporting it first if needed)."""
    if device == "cuda":
        import onnxruntime as ort  # type: ignore[import-untyped]

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise OnnxExportError("this onnxruntime has no CUDA provider (onnxruntime-gpu)")
    pooling, dim = _pooling(path)
    tokenizer = _tokenizer(path, settings.embedding_max_length)
    model_file = exported_model(name, path, settings.data_dir / "models", pooling, device)
    session = _session(model_file, device)
    return Embedder(name, dim, OnnxBackend(session, tokenizer, device, workers=usable_cpus()))


def _pooling(path: Path) -> tuple[str, int]:
    modules = (
        json.loads((path / "modules.json").read_text()) if (path / "modules.json").is_file() else []
    )
    unknown = {m.get("type") for m in modules} - ALLOWED_MODULES
    if not modules or unknown:
        raise OnnxExportError(
            f"unsupported sentence-transformers modules: {sorted(map(str, unknown)) or 'none'}"
        )
    pooling_dir = next((m["path"] for m in modules if m["type"].endswith("Pooling")), None)
    if pooling_dir is None:
        raise OnnxExportError("the model has no pooling module")
    config = read_json(path / pooling_dir / "config.json")
    modes = [k for k, v in config.items() if k.startswith("pooling_mode_") and v is True]
    if modes == ["pooling_mode_mean_tokens"]:
        mode = "mean"
    elif modes == ["pooling_mode_cls_token"]:
        mode = "cls"
    else:
        raise OnnxExportError(f"unsupported pooling {modes}")
    dim = config.get("word_embedding_dimension")
    if not isinstance(dim, int):
        raise OnnxExportError("the pooling config does not give the dimension")
    return mode, dim


def _tokenizer(path: Path, max_length: int) -> Any:
    from tokenizers import Tokenizer

    if not (path / "tokenizer.json").is_file():
        raise OnnxExportError("no fast tokenizer (tokenizer.json)")
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    model_max = read_json(path / "sentence_bert_config.json").get("max_seq_length")
    length = min(max_length, model_max) if isinstance(model_max, int) else max_length
    tokenizer.enable_truncation(length)
    pad = read_json(path / "tokenizer_config.json").get("pad_token")
    pad_token = pad if isinstance(pad, str) else "[PAD]"
    pad_id = tokenizer.token_to_id(pad_token)
    tokenizer.enable_padding(pad_id=pad_id or 0, pad_token=pad_token)
    return tokenizer


def _cache_key(name: str, path: Path, pooling: str, device: str) -> str:
    """Changes whenever the weights, the export code or the precision change."""
    from importlib.metadata import version

    weights = sorted(
        f"{p.name}:{p.stat().st_size}:{int(p.stat().st_mtime)}"
        for p in path.iterdir()
        if p.suffix in (".safetensors", ".bin", ".json")
    )
    precision = "fp16" if device == "cuda" else "int8"
    parts = [
        str(path),
        *weights,
        pooling,
        precision,
        str(EXPORT_VERSION),
        str(OPSET),
        version("torch"),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def exported_model(name: str, path: Path, models_dir: Path, pooling: str, device: str) -> Path:
    """The ONNX file for this model and device, exported (and quantised / converted) on first use."""
    folder = models_dir / f"{model_slug(name)}-{_cache_key(name, path, pooling, device)}"
    final = folder / ("model-fp16.onnx" if device == "cuda" else "model-int8.onnx")
    with _export_lock:
        if final.is_file():
            return final
        folder.mkdir(parents=True, exist_ok=True)
        log.info("exporting %s to ONNX in %s (once)", name, folder)
        plain = folder / f"model-fp32.{os.getpid()}.onnx"
        try:
            _export(path, plain, pooling)
            tmp = folder / f"{final.stem}.{os.getpid()}.onnx"
            if device == "cuda":
                _to_fp16(plain, tmp)
            else:
                fused = folder / f"model-fused.{os.getpid()}.onnx"
                _quantise(fused if _fuse(path, plain, fused) else plain, tmp)
            tmp.replace(final)  # atomic: a concurrent reader sees the whole file or none
        except OnnxExportError:
            raise
        except Exception as exc:  # an exporter failure of any kind means: use torch instead
            raise OnnxExportError(f"export failed: {type(exc).__name__}: {exc}") from exc
        finally:
            plain.unlink(missing_ok=True)
            for leftover in folder.glob(f"*.{os.getpid()}.onnx*"):
                leftover.unlink(missing_ok=True)
        return final


def _export(path: Path, target: Path, pooling: str) -> None:
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    # eager attention exports as MatMul/Softmax, which the optimiser fuses; SDPA's pattern it cannot
    model = AutoModel.from_pretrained(
        str(path), local_files_only=True, attn_implementation="eager"
    ).eval()
    with_types = "token_type_ids" in inspect.signature(model.forward).parameters
    wrapper = _PooledModel(model, pooling, with_types)
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if with_types else [])
    example = tuple(torch.ones((2, 8), dtype=torch.long) for _ in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"embedding": {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            example,
            str(target),
            input_names=names,
            output_names=["embedding"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


class _PooledModel:  # built lazily so importing this module does not import torch
    def __new__(cls, model: Any, pooling: str, with_types: bool) -> Any:
        import torch

        class Pooled(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: Any, attention_mask: Any, *rest: Any) -> Any:
                extra = {"token_type_ids": rest[0]} if with_types else {}
                hidden = self.model(
                    input_ids=input_ids, attention_mask=attention_mask, **extra
                ).last_hidden_state
                if pooling == "cls":
                    pooled = hidden[:, 0]
                else:
                    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, dim=-1)

        return Pooled()


def _fuse(path: Path, source: Path, target: Path) -> bool:
    """Fuse attention and embeddings for CPU (see the module docstring); False: left unfused."""
    config = read_json(path / "config.json")
    heads, hidden = config.get("num_attention_heads"), config.get("hidden_size")
    if not isinstance(heads, int) or not isinstance(hidden, int):
        return False
    from onnxruntime.transformers.fusion_options import (  # type: ignore[import-untyped]
        FusionOptions,
    )
    from onnxruntime.transformers.optimizer import optimize_model  # type: ignore[import-untyped]

    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False
    options.enable_bias_skip_layer_norm = False
    options.enable_bias_gelu = False
    with _quiet():
        try:
            model = optimize_model(
                str(source),
                model_type="bert",
                num_heads=heads,
                hidden_size=hidden,
                optimization_options=options,
            )
            model.save_model_to_file(str(target))
            statistics = model.get_fused_operator_statistics()  # it logs them too
        except Exception as exc:  # a graph the optimiser does not know: quantise it unfused
            log.warning(
                "ONNX fusion skipped (%s: %s); embedding is slower", type(exc).__name__, exc
            )
            return False
    log.info("ONNX fusions: %s", {op: n for op, n in statistics.items() if n})
    return True


def _quantise(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped]

    with _quiet():
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,  # QUInt8 weights run 2x slower here (u8 x u8 kernels)
            per_channel=True,  # per tensor: mean cosine to float32 drops to ~0.93
            # fused nodes (com.microsoft) have no inferred output types: they are float
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


@contextmanager
def _quiet() -> Iterator[None]:
    """Drops ONNX Runtime's own log records below ERROR meanwhile: the optimiser and quantiser
    report every step (on loggers of their own, which reach the root logger's handlers)."""
    import onnxruntime

    package = str(Path(onnxruntime.__file__).parent)

    def keep(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not record.pathname.startswith(package)

    handlers = logging.getLogger().handlers
    for handler in handlers:
        handler.addFilter(keep)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(keep)


def _to_fp16(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16  # type: ignore[import-untyped]

    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    onnx.save(model, str(target))


def _session(model_file: Path, device: str) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    providers = ["CPUExecutionProvider"]
    disabled: list[str] = []
    if device == "cuda":
        providers.insert(0, "CUDAExecutionProvider")
    else:
        # one thread per run; OnnxBackend runs one slice per core at once
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.set_denormal_as_zero", "1")
        disabled = SLOW_FUSIONS
    try:
        return ort.InferenceSession(
            str(model_file), options, providers=providers, disabled_optimizers=disabled
        )
    except Exception as exc:  # a damaged cached file: remove it so the next load exports again
        model_file.unlink(missing_ok=True)
        raise OnnxExportError(f"cannot load {model_file}: {exc}") from exc


class OnnxBackend:
    """Runs the session; the next batches are tokenised on a thread meanwhile.

    On CPU a batch runs in slices of :data:`CPU_ROWS` rows, ``workers`` slices at once (the session
    is single-threaded there; ONNX Runtime sessions may run concurrently)."""

    def __init__(self, session: Any, tokenizer: Any, device: str, *, workers: int = 1) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.inputs = [i.name for i in session.get_inputs()]
        self.depth = 4 if device == "cuda" else 1  # batches tokenised ahead
        self._pool = ThreadPoolExecutor(max_workers=2 if device == "cuda" else 1)
        self.workers = max(1, workers)
        cpu = device != "cuda"
        self._runners = ThreadPoolExecutor(max_workers=self.workers) if cpu else None

    def tokenise(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        feeds = {
            "input_ids": ids,
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return {name: feeds[name] for name in self.inputs}

    def embed_batches(self, batches: Iterable[Sequence[str]]) -> Iterator[Vectors]:
        pending: deque[Future[dict[str, np.ndarray]]] = deque()
        source = iter(batches)
        for batch in source:
            pending.append(self._pool.submit(self.tokenise, batch))
            if len(pending) > self.depth:
                yield self._run(pending.popleft().result())
        while pending:
            yield self._run(pending.popleft().result())

    def _run(self, feeds: dict[str, np.ndarray]) -> Vectors:
        size = len(feeds["input_ids"])
        if self._runners is None or size == 1:  # CUDA: the whole batch at once
            return self._run_one(feeds)
        rows = min(CPU_ROWS, -(-size // self.workers))  # at least one slice per core
        slices = [
            {name: value[start : start + rows] for name, value in feeds.items()}
            for start in range(0, size, rows)
        ]
        return np.concatenate(list(self._runners.map(self._run_one, slices)))

    def _run_one(self, feeds: dict[str, np.ndarray]) -> Vectors:
        (out,) = self.session.run(["embedding"], feeds)
        return np.asarray(out, dtype=np.float32)
