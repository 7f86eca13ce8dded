"""One file per model: safetensors weights, the JSON configuration in its metadata.

Loading never unpickles. A missing, truncated or foreign file, a directory or a data file
gives a one-line error. The metadata holds a SHA-256 of the weights (`weights_digest`),
checked on load: damaged weights are named as damaged instead of giving a number (files
written before the digest existed load with a warning).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ednn.atoms.model import AtomEDNN
from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.core.nets import build_net
from ednn.io import fingerprints
from ednn.io.atomic import atomic_path
from ednn.io.shelf import moved_model_error

FORMAT = "ednn-model-v1"
_METADATA_KEY = "ednn"
_DIGEST_KEY = "ednn_weights_sha256"
_FINGERPRINTS_KEY = "ednn_training_fingerprints"
_DATA_SIGNATURES = {b"\x89HDF\r\n\x1a\n": "an HDF5 data file", b"PK\x03\x04": "an .npz (zip) data file"}
"""Leading bytes of data files that are sometimes given where a model is expected."""


def model_config(model: EDNN) -> dict[str, Any]:
    """Everything needed to rebuild `model` apart from its weights (JSON-able)."""
    name = getattr(model.net, "registered_name", None)
    if name is None or not hasattr(model.net, "config"):
        raise EDNNError(
            f"cannot save a {type(model.net).__name__}: register it with ednn.core.nets.register_net "
            "(which records its constructor arguments)"
        )
    return {
        "format": FORMAT,
        "net": {"name": name, "config": model.net.config},
        "focus": model.focus,
        "context": model.context,
        "ndim": model.ndim,
        "channels": model.channels,
        "outputs": model.outputs,
        "padding": model.padding,
        "targets": model.targets,
        "scale": model.target.scale.tolist(),
        "offset_per_site": model.target.offset_per_site.tolist(),
        "info": model.info,
        "imaging": None if model.imaging is None else model.imaging.to_dict(),
        "readout": None if model.target.readout is None else model.target.readout.name,
    }


def weights_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 (hex) of tensors by name, dtype, shape and bytes, in name order (as stored in a file)."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class UnverifiedModelWarning(UserWarning):
    """A model file without a digest of its weights (written before ednn stored one)."""


def save_model(model: EDNN, path: str | os.PathLike) -> Path:
    """Write `model` to `path` atomically (`ednn.io.atomic`), its tensors from the CPU; the target's
    buffers under the names format v1 gave them (`scale`, …), so every ednn that reads v1 reads it."""
    path = Path(path)
    tensors = {k.removeprefix("target."): v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    metadata = {_METADATA_KEY: json.dumps(model_config(model)), _DIGEST_KEY: weights_digest(tensors)}
    seen = model.training_fingerprints
    if seen:
        metadata[_FINGERPRINTS_KEY] = json.dumps(
            {key: value if key == "kind" else fingerprints.encode(value) for key, value in seen.items()}
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
        tmp.chmod(0o644)  # safetensors creates files readable by the owner only
    return path


def stored_config(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON configuration in a model file's metadata (`model_config`'s dict), without reading
    the weights; a file that is not an ednn model is an EDNNError."""
    path = Path(path)
    _check_looks_like_model(path)
    try:
        with safe_open(str(path), framework="numpy") as handle:
            return json.loads((handle.metadata() or {})[_METADATA_KEY])
    except (KeyError, json.JSONDecodeError):
        raise EDNNError(f"{path} holds no readable ednn metadata") from None
    except Exception as exc:  # safetensors raises several types for damaged files
        raise EDNNError(f"{path} is not a readable model file (truncated or corrupt?): {exc}".splitlines()[0]) from None


def stored_weights_digest(path: str | os.PathLike) -> str | None:
    """The SHA-256 of the weights saved in a model file's metadata (None in files from before it);
    `load` checks it against the weights."""
    with safe_open(str(path), framework="pt") as handle:
        return (handle.metadata() or {}).get(_DIGEST_KEY)


def _check_looks_like_model(path: Path) -> None:
    """Refuse a directory, a data file or (unless named .safetensors) a file that does not
    start like a safetensors file: an 8-byte header length, then the JSON header."""
    if path.is_dir():
        raise EDNNError(f"{path} is a directory, not a model file")
    if not path.is_file():
        raise moved_model_error(path) or EDNNError(f"model file {path} does not exist")
    if path.suffix == ".ckpt":
        raise EDNNError(
            f"{path} is a training checkpoint, not a model: the model is the .safetensors file "
            "`ednn train` writes when the run ends (`--resume` finishes an interrupted run)"
        )
    with open(path, "rb") as handle:
        head = handle.read(9)
    for signature, kind in _DATA_SIGNATURES.items():
        if head.startswith(signature):
            raise EDNNError(f"{path} is {kind}, not a model (usage: ednn predict MODEL DATA)")
    if path.suffix != ".safetensors" and head[8:9] != b"{":
        raise EDNNError(f"{path} is not a model file (ednn models are .safetensors files)")


def _check_digest(path: Path, tensors: dict[str, torch.Tensor], stored: str | None) -> None:
    """Refuse weights whose SHA-256 differs from the one saved with them; warn when none was saved."""
    if stored is None:
        warnings.warn(
            f"{path} holds no digest of its weights (written by an older ednn), so damage to them "
            "cannot be detected; save it again with ednn.save_model to add one",
            UnverifiedModelWarning,
            stacklevel=3,
        )
    elif weights_digest(tensors) != stored:
        raise EDNNError(
            f"{path} is damaged: its weights do not match the SHA-256 saved with them "
            "(the file was changed after it was written; get a fresh copy)"
        )


def _read_fingerprints(path: Path, text: str | None) -> dict:
    """The training fingerprints stored in a model file's metadata ({} if none)."""
    if text is None:
        return {}
    try:
        stored = json.loads(text)
        if stored.get("kind") not in fingerprints.KINDS:
            raise EDNNError(f"unknown kind {stored.get('kind')!r}")
        return {key: value if key == "kind" else fingerprints.decode(value) for key, value in stored.items()}
    except (json.JSONDecodeError, AttributeError, EDNNError) as error:
        raise EDNNError(f"{path} has damaged ednn metadata (training fingerprints: {error})") from None


#: File names of the target's buffers (`model.target.<name>` in the model).
_TARGET_BUFFERS = ("scale", "offset_per_site", "offset_per_intensity")


def load(path: str | os.PathLike, device: torch.device | str = "cpu") -> EDNN:
    """Load a model saved by `save_model` onto `device` (CPU by default; e.g. 'cuda'); returns an
    `EDNN` (an `AtomEDNN` for models of atoms) in evaluation mode."""
    path = Path(path)
    _check_looks_like_model(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (a handle, not a dict)
    except Exception as exc:  # safetensors raises several types for damaged files
        raise EDNNError(f"{path} is not a readable model file (truncated or corrupt?): {exc}".splitlines()[0]) from None
    if _METADATA_KEY not in metadata:
        raise EDNNError(f"{path} is a safetensors file but not an ednn model (no '{_METADATA_KEY}' metadata)")
    _check_digest(path, tensors, metadata.get(_DIGEST_KEY))
    try:
        config = json.loads(metadata[_METADATA_KEY])
    except json.JSONDecodeError:
        raise EDNNError(f"{path} has damaged ednn metadata") from None
    if config.get("format") != FORMAT:
        raise EDNNError(f"{path} has model format {config.get('format')!r}; this ednn reads {FORMAT!r}")
    try:
        net = build_net(config["net"]["name"], **config["net"]["config"])
        options = dict(
            ndim=config["ndim"],
            channels=config["channels"],
            outputs=config["outputs"],
            padding=config["padding"],
            scale=config["scale"],
            offset_per_site=config["offset_per_site"],
            targets=config["targets"],
            info=config["info"],
            readout=config.get("readout"),
        )
        focus, context = config["focus"], config["context"]
    except KeyError as missing:
        raise EDNNError(f"{path} has damaged ednn metadata (no {missing})") from None
    except EDNNError as error:  # a network its metadata cannot build
        raise EDNNError(f"{path} has damaged ednn metadata ({error})") from None
    imaging = config.get("imaging")
    model = (
        EDNN(net, focus, context, **options)
        if imaging is None
        else AtomEDNN(net, focus, context, imaging=imaging, **options)
    )
    for name in _TARGET_BUFFERS:  # the oldest files lack offset_per_intensity
        if name in tensors:
            tensors[f"target.{name}"] = tensors.pop(name)
    tensors.setdefault("target.offset_per_intensity", model.target.offset_per_intensity)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError:
        raise EDNNError(f"{path}: weights do not match the network its metadata describes") from None
    model.training_fingerprints = _read_fingerprints(path, metadata.get(_FINGERPRINTS_KEY))
    try:
        return model.to(device).eval()
    except (RuntimeError, AssertionError) as exc:  # no such device, or torch built without it
        raise EDNNError(f"cannot load {path} onto device {device!r}: {str(exc).splitlines()[0]}") from None
