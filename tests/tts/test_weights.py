"""The streaming weight loader (app/tts/weights.py) on the parity checkpoint: the same values as
the safetensors library reads, in float32 (read straight into the parameters) and converted
through a conversion buffer far smaller than a tensor; malformed files give one readable error.
(The strict name and shape checks are in test_errors.py; memory at full scale in
tests/assets/test_real_scale.py.)"""

from __future__ import annotations

import json
import shutil
import struct

import pytest
import torch
from safetensors.torch import load_file

from app.errors import UserError
from app.tts.config import load_config
from app.tts.model import Dia2Model
from app.tts.precision import FAST_BF16, FLOAT32, REFERENCE_BF16, Precision
from app.tts.weights import load_weights, read_header
from tests.conftest import PARITY


@pytest.fixture(scope="module")
def reference():
    return load_file(str(PARITY / "model.safetensors"))


HALF = Precision("float16", torch.float16, torch.float16, torch.float16)


@pytest.mark.parametrize("precision, chunk", [(FLOAT32, 1 << 24), (FAST_BF16, 1000),
                                              (REFERENCE_BF16, 64), (HALF, 4096), (FAST_BF16, 2)],
                         ids=["float32", "fast", "reference", "float16", "fast-2-byte-buffer"])
def test_values_equal_the_safetensors_library(reference, precision, chunk):
    model = Dia2Model.empty(load_config(PARITY / "config.json"), torch.device("cpu"), precision)
    load_weights(model, PARITY / "model.safetensors", chunk_bytes=chunk)
    got = model.checkpoint_tensors()
    assert set(got) == set(reference)
    assert {t.dtype for t in got.values()} == {precision.weights, precision.compute}
    for name, want in reference.items():
        assert torch.equal(got[name], want.to(got[name].dtype)), name


def test_header_lists_tensors_in_file_order():
    stored = read_header(PARITY / "model.safetensors")
    assert len(stored) == len(load_file(str(PARITY / "model.safetensors")))
    offsets = [t.offset for t in stored]
    assert offsets == sorted(offsets)
    assert all(a.offset + a.nbytes == b.offset for a, b in zip(stored, stored[1:], strict=False))


def _rewrite_header(path, edit) -> None:
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = edit(json.loads(data[8 : 8 + n]))
    blob = json.dumps(header).encode() if isinstance(header, dict) else header
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + data[8 + n :])


def _first_tensor(header: dict) -> str:
    return next(k for k in header if k != "__metadata__")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda h: b"{not json", "header is not JSON"),
        (lambda h: {**h, _first_tensor(h): {**h[_first_tensor(h)], "dtype": "X9"}}, "malformed"),
        (lambda h: {**h, _first_tensor(h): {**h[_first_tensor(h)], "data_offsets": [0, 3]}},
         "inconsistent offsets"),
    ],
)
def test_malformed_header_is_one_readable_error(tmp_path, edit, message):
    folder = shutil.copytree(PARITY, tmp_path / "ckpt")
    _rewrite_header(folder / "model.safetensors", edit)
    model = Dia2Model.empty(load_config(folder / "config.json"), torch.device("cpu"))
    with pytest.raises(UserError, match=f"not a readable safetensors file .*{message}.*download"):
        load_weights(model, folder / "model.safetensors")


def test_impossible_header_length(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    model = Dia2Model.empty(load_config(PARITY / "config.json"), torch.device("cpu"))
    with pytest.raises(UserError, match="header length .* does not fit"):
        load_weights(model, path)
