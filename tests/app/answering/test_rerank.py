"""The reranking stage: ordering by a reranker's scores, wired into retrieval and evaluation, and
the real cross-encoder adapter on a tiny random-weight model built here (nothing downloaded)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from app.answering.rerank import CrossEncoderReranker, rerank, rerank_first
from app.answering.retrieve import OVERFETCH, RetrievalOptions, retrieve
from app.evaluation.beir import BeirDataset
from app.evaluation.runner import RERANK_MODE, evaluate
from app.services import Services, load_reranker, retrieval_options
from app.settings import Settings
from ingest.pipeline import IngestOptions, ingest_paths
from tests.app.sample import passage
from tests.fakes import FakeReranker

WORDS = "the a hotel cap is eur trains refund remote work days week salary band expenses"


def tiny_cross_encoder(folder: Path) -> Path:
    """A BERT cross-encoder with random weights and a 20-word vocabulary, saved as a
    sentence-transformers CrossEncoder folder would be."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS.split()]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(7)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_cross_encoder(tmp_path_factory.mktemp("reranker") / "tiny-ce")


# --- ordering ---------------------------------------------------------------------------


def test_rerank_orders_by_score_and_keeps_ties_in_order() -> None:
    found = [
        passage("remote work rules", doc="a"),
        passage("the hotel cap", doc="b"),
        passage("hotel cap in eur", doc="c"),
        passage("salary band", doc="d"),
    ]
    reranker = FakeReranker()
    reranked = rerank(reranker, "hotel cap eur", found)
    assert [p.doc_id for p in reranked] == ["c", "b", "a", "d"]  # 3, 2, then 0 and 0 in order
    assert [p.score for p in reranked] == [3.0, 2.0, 0.0, 0.0]
    assert reranker.calls == [("hotel cap eur", [p.text for p in found])]
    assert rerank(reranker, "anything", []) == [] and len(reranker.calls) == 1


def test_only_the_first_candidates_are_reranked() -> None:
    found = [passage(t, doc=t) for t in ("x", "cap", "hotel cap", "hotel cap eur")]
    reranker = FakeReranker()
    reranked = rerank_first(reranker, "hotel cap eur", found, 3)
    assert [p.doc_id for p in reranked] == ["hotel cap", "cap", "x", "hotel cap eur"]
    assert reranker.calls[0][1] == ["x", "cap", "hotel cap"]


def test_a_reranker_that_loses_scores_is_refused() -> None:
    class Short(FakeReranker):
        def score(self, query: str, texts: object) -> list[float]:
            return [1.0]

    with pytest.raises(ValueError, match="returned 1 scores for 2 passages"):
        rerank(Short(), "q", [passage("a"), passage("b", doc="b")])


# --- in retrieval and evaluation --------------------------------------------------------


@pytest.fixture
def kb(services: Services, tmp_path: Path) -> Services:
    texts = {
        "remote.md": "Remote work is allowed three days a week for everyone.",
        "hotel.md": "The hotel cap is 240 EUR per night in London.",
        "trains.md": "Trains are refunded in second class; the hotel is booked by the office.",
    }
    for name, text in texts.items():
        (tmp_path / name).write_text(f"# {name}\n\n{text}\n")
    ingest_paths(
        [tmp_path / name for name in texts],
        embedder=services.embedder,
        store=services.store,
        catalog=services.catalog,
        options=IngestOptions(chunk_tokens=60, chunk_overlap=5),
    )
    return services


def test_retrieval_fetches_more_reranks_and_cuts(kb: Services) -> None:
    reranker = FakeReranker()
    options = RetrievalOptions(reranker=reranker, rerank_candidates=6)
    found = retrieve(
        "hotel cap per night",
        embedder=kb.embedder,
        store=kb.store,
        limit=1,
        live_versions=kb.catalog.live_versions,
        options=options,
    )
    [(query, texts)] = reranker.calls
    assert query == "hotel cap per night"
    assert len(texts) == 3  # every chunk there is: up to max(1 * OVERFETCH, 6) were asked for
    assert 1 * OVERFETCH < 6
    assert [Path(p.source).name for p in found] == ["hotel.md"]
    assert found[0].score == 4.0  # the reranker's score: hotel, cap, per, night


def test_evaluation_adds_the_rerank_mode(kb: Services) -> None:
    hotel = next(r.doc_id for r in kb.catalog.all() if r.source.endswith("hotel.md"))
    dataset = BeirDataset("mini", {}, {"q": "hotel cap per night"}, {"q": {hotel: 1}})
    reranker = FakeReranker()
    report = evaluate(
        dataset,
        kb.embedder,
        kb.store,
        modes=("sparse",),
        k=3,
        depth=10,
        reranker=reranker,
        retrieval=RetrievalOptions(rerank_candidates=2),
    )
    assert [s.mode for s in report.summaries] == ["sparse", RERANK_MODE]
    assert len(reranker.calls) == 1 and len(reranker.calls[0][1]) == 2  # the first two only
    assert report.summary(RERANK_MODE).mrr == 1.0


# --- the cross-encoder adapter ----------------------------------------------------------


def test_cross_encoder_scores_each_pair_as_the_model_does(model_folder: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    reranker = CrossEncoderReranker(model_folder)
    texts = ["the hotel cap is 240 eur", "remote work three days a week", "salary band"]
    scores = reranker.score("hotel cap", texts)
    assert reranker.name == "tiny-ce"
    assert scores == reranker.score("hotel cap", texts)  # deterministic

    tokenizer = AutoTokenizer.from_pretrained(model_folder)
    model = AutoModelForSequenceClassification.from_pretrained(model_folder).eval()
    with torch.no_grad():
        batch = tokenizer(["hotel cap"] * 3, texts, padding=True, return_tensors="pt")
        logits = model(**batch).logits[:, 0].tolist()
    expected = [1 / (1 + math.exp(-x)) for x in logits]  # one label: sigmoid of the logit
    assert scores == pytest.approx(expected, rel=1e-5)
    assert reranker.score("hotel cap", []) == []

    ordered = rerank(reranker, "hotel cap", [passage(t, doc=t) for t in texts])
    assert [p.score for p in ordered] == sorted(scores, reverse=True)


def test_reranker_comes_from_the_settings(model_folder: Path, tmp_path: Path) -> None:
    assert load_reranker(Settings(data_dir=tmp_path)) is None
    settings = Settings(
        data_dir=tmp_path, reranker_path=model_folder, rerank_candidates=12, fusion="rrf"
    )
    options = retrieval_options(settings, load_reranker(settings))
    assert isinstance(options.reranker, CrossEncoderReranker)
    assert (options.rerank_candidates, options.fusion) == (12, "rrf")


def test_a_missing_reranker_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"DOCENT_RERANKER_PATH=.* is not a folder"):
        Settings(data_dir=tmp_path, reranker_path=tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        CrossEncoderReranker(tmp_path / "nowhere")
