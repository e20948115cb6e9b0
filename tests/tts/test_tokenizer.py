"""The tokenizer loads a checkpoint folder as the reference does, whatever tokenizer files it has
(tests/assets/test_hub.py downloads the real-shape layout through the loopback hub)."""

from __future__ import annotations

import shutil

import pytest

from app.errors import UserError
from app.tts.engine import Dia2Engine
from app.tts.tokenizer import TOKENIZER_FILES, Dia2Tokenizer
from tests.conftest import PARITY_FIXTURES
from tests.tts.helpers import load_cases

REAL = PARITY_FIXTURES["dia2-real-shape"]
TINY = PARITY_FIXTURES["dia2-tiny"]
NEW_WORD = {"dia2-real-shape": 2, "dia2-tiny": 2}


def script_ids(tok: Dia2Tokenizer, folder) -> list[list[int]]:
    """Token ids of every word of every public case, as the script parser asks for them."""
    out = []
    for case in load_cases(folder):
        for word in case["script"].split():
            out.append(tok.encode(word))
    return out


def copy_some(src, dst, names) -> None:
    dst.mkdir()
    for name in names:
        shutil.copy(src / name, dst / name)


def test_real_shape_speaker_tags_and_bos():
    tok = Dia2Tokenizer.load(REAL, new_word_id=2)
    assert (tok.special.speaker1, tok.special.speaker2) == (420, 421)
    assert tok.special.bos == 1  # <|endoftext|> is id 0, which the reference reads as 1
    assert tok.encode("[S1] Hello")[0] == 420
    assert tok.vocab_size == 422


def test_tokenizer_json_alone_lacks_the_speaker_tags(tmp_path):
    """Why every file is needed: from tokenizer.json alone, [S1] is not one token."""
    copy_some(REAL, tmp_path / "t", ["tokenizer.json"])
    alone = Dia2Tokenizer.load(tmp_path / "t", new_word_id=2)
    full = Dia2Tokenizer.load(REAL, new_word_id=2)
    assert alone.special.speaker1 == 2  # the new-word id stands in, as the reference would do
    assert alone.encode("[S1] Hello") != full.encode("[S1] Hello")


@pytest.mark.parametrize("name", sorted(PARITY_FIXTURES))
def test_fast_files_give_the_reference_ids(tmp_path, name):
    """Without vocab.json / merges.txt the slow tokenizer cannot be built; the fast one from the
    same folder gives the same ids on every word of the public cases."""
    folder = PARITY_FIXTURES[name]
    keep = [n for n in TOKENIZER_FILES if n not in ("vocab.json", "merges.txt")
            and (folder / n).is_file()]
    copy_some(folder, tmp_path / "t", keep)
    fast = Dia2Tokenizer.load(tmp_path / "t", new_word_id=NEW_WORD[name])
    slow = Dia2Tokenizer.load(folder, new_word_id=NEW_WORD[name])
    assert slow.kind == "GPT2Tokenizer" and fast.kind == "GPT2TokenizerFast"
    assert fast.special == slow.special
    assert script_ids(fast, folder) == script_ids(slow, folder)


def test_no_tokenizer_files(tmp_path):
    copy_some(REAL, tmp_path / "t", ["config.json", "added_tokens.json"])
    with pytest.raises(UserError, match="has no tokenizer"):
        Dia2Tokenizer.load(tmp_path / "t", new_word_id=2)


def test_unreadable_tokenizer(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "tokenizer.json").write_text("{not json")
    with pytest.raises(UserError, match="cannot be read"):
        Dia2Tokenizer.load(tmp_path / "t", new_word_id=2)


def test_a_token_past_the_model_vocabulary_is_refused():
    engine = Dia2Engine.load_folder(TINY, device="cpu", precision="float32")
    # The slow GPT-2 tokenizer appends <|endoftext|> past this tiny vocabulary. (Scripts never
    # get there: the parser refuses angle-bracket tags; words of a voice sample's transcript do.)
    with pytest.raises(UserError, match="does not know"):
        engine.tokenizer.encode("Hello<|endoftext|>")
    assert engine.tokenizer.encode("Hello")

