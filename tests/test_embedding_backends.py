"""The real backends: ONNX export (on a tiny BERT built here, so it takes seconds) against
sentence-transformers, the export cache, the fallback to torch, and the bundled MiniLM once."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from dailypapers.config import Settings
from dailypapers.embeddings import Embedder, load_embedder
from dailypapers.embeddings.model_files import resolve_model
from dailypapers.embeddings.onnx_backend import OnnxBackend, OnnxExportError, load_onnx
from dailypapers.embeddings.torch_backend import TorchBackend

TEXTS = [
    "Spiking neural networks model biological neurons with discrete events.",
    "A survey of retrieval-augmented generation for question answering.",
    "Short.",
    "Graph neural networks predict molecular properties " * 20,
]


def make_tiny_model(folder: Path, pooling: str = "mean") -> Path:
    """A randomly initialised 2-layer BERT in the sentence-transformers layout, MiniLM's tokenizer."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(folder)
    minilm = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(minilm / name, folder / name)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
        {
            "idx": 2,
            "name": "2",
            "path": "2_Normalize",
            "type": "sentence_transformers.models.Normalize",
        },
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps(
            {
                "word_embedding_dimension": 32,
                "pooling_mode_mean_tokens": pooling == "mean",
                "pooling_mode_max_tokens": pooling == "max",
            }
        )
    )
    return folder


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def test_onnx_int8_agrees_with_sentence_transformers(tiny_model: Path, settings: Settings) -> None:
    chosen = settings.model_copy(
        update={"embedding_model": str(tiny_model), "embedding_device": "cpu"}
    )
    onnx = load_embedder(chosen.model_copy(update={"embedding_backend": "onnx"}))
    torch_ = load_embedder(chosen.model_copy(update={"embedding_backend": "torch"}))
    assert isinstance(onnx.backend, OnnxBackend) and isinstance(torch_.backend, TorchBackend)
    assert onnx.dim == torch_.dim == 32
    a, b = onnx.encode(TEXTS, batch_size=2), torch_.encode(TEXTS, batch_size=2)
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-4)
    assert float(np.sum(a * b, axis=1).min()) > 0.97  # int8 weights, same pooling and truncation
    # int8 activations are scaled per batch: alone, a text comes out very nearly the same
    assert float(onnx.encode_query(TEXTS[0]) @ a[0]) > 0.99


def test_the_cpu_export_fuses_attention_but_not_the_slow_kernels(
    tiny_model: Path, settings: Settings
) -> None:
    import onnx

    load_onnx(str(tiny_model), tiny_model, settings, "cpu")
    [path] = (settings.data_dir / "models").glob("*/model-int8.onnx")
    ops = Counter(node.op_type for node in onnx.load(str(path)).graph.node)
    assert ops["QAttention"] == 2 and ops["QEmbedLayerNormalization"] == 1  # fused, then int8
    assert ops["SkipLayerNormalization"] == ops["BiasGelu"] == 0  # slower on CPU than their parts
    assert not list(path.parent.glob("*.*.onnx"))  # no intermediate file left behind


def test_batches_run_in_slices_on_all_cores_in_order(tiny_model: Path, settings: Settings) -> None:
    embedder = load_onnx(str(tiny_model), tiny_model, settings, "cpu")
    assert isinstance(embedder.backend, OnnxBackend)
    alone = np.stack([embedder.encode_query(text) for text in TEXTS])
    assert float((alone @ alone.T - np.eye(len(TEXTS))).max()) < 0.97  # the texts differ
    for workers in (1, 3):
        backend = OnnxBackend(
            embedder.backend.session, embedder.backend.tokenizer, "cpu", workers=workers
        )
        sliced = Embedder("tiny", embedder.dim, backend).encode(TEXTS * 5, batch_size=20)
        cosines = np.sum(sliced * np.tile(alone, (5, 1)), axis=1)
        assert float(cosines.min()) > 0.99  # each row is its own text's vector


def test_the_export_is_cached_and_a_damaged_one_redone(
    tiny_model: Path, settings: Settings
) -> None:
    exported = list((settings.data_dir / "models").glob("*/model-int8.onnx"))
    if not exported:
        load_onnx(str(tiny_model), tiny_model, settings, "cpu")
        exported = list((settings.data_dir / "models").glob("*/model-int8.onnx"))
    [path] = exported
    stamp = path.stat().st_mtime_ns
    load_onnx(str(tiny_model), tiny_model, settings, "cpu")
    assert path.stat().st_mtime_ns == stamp  # reused, not exported again
    path.write_bytes(b"not a model")
    with pytest.raises(OnnxExportError):
        load_onnx(str(tiny_model), tiny_model, settings, "cpu")
    assert not path.exists()  # removed: the next load exports again
    load_onnx(str(tiny_model), tiny_model, settings, "cpu")
    assert path.stat().st_size > 1000


def test_unsupported_models_fall_back_to_sentence_transformers(
    tmp_path: Path, settings: Settings
) -> None:
    folder = make_tiny_model(tmp_path / "max-pooled", pooling="max")
    with pytest.raises(OnnxExportError, match="pooling"):
        load_onnx(str(folder), folder, settings, "cpu")
    auto = load_embedder(
        settings.model_copy(update={"embedding_model": str(folder), "embedding_backend": "auto"})
    )
    assert isinstance(auto.backend, TorchBackend)
    assert auto.encode(["works anyway"]).shape == (1, 32)


def test_the_bundled_minilm_understands_meaning(settings: Settings) -> None:
    """The one test with the real model (torch backend: no export)."""
    real = settings.model_copy(
        update={
            "embedding_model": "sentence-transformers/all-MiniLM-L6-v2",
            "embedding_backend": "torch",
        }
    )
    embedder = load_embedder(real)
    assert embedder.dim == 384
    papers = embedder.encode(TEXTS[:2])
    query = embedder.encode_query("neurons")
    assert float(papers[0] @ query) > float(papers[1] @ query) + 0.1
    # the CUDA path (tokenising ahead on threads, own forward pass) gives the same vectors
    assert isinstance(embedder.backend, TorchBackend)
    pipelined = TorchBackend(embedder.backend.model, "cpu", pipelined=True)
    batches = [TEXTS[:2], TEXTS[2:], TEXTS[:1]] * 3
    for batch, got in zip(batches, pipelined.embed_batches(batches), strict=True):
        assert np.allclose(got, embedder.encode(batch), atol=1e-4)
