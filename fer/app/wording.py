"""What the bars mean, in words, from the model's config (`trained_on`): a model fitted to FER+'s ten annotators
says how ten people would label a face; one fitted to FER-2013's labels gives each class's probability."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fer.model.classifier import FERPLUS_VOTES_SOURCE, EmotionClassifier


@dataclass(frozen=True)
class Wording:
    chart: str  # the photo's bar chart
    largest_face: str  # the webcam's bar chart, in the browser and on the server
    timeline: str  # a video face's probabilities over time
    meaning: str  # one sentence for the page and the API's JSON: what a probability is

    def as_json(self) -> dict:
        return asdict(self)


FER2013_WORDING = Wording(
    chart="Class probabilities", largest_face="Largest face", timeline="Emotions over time",
    meaning="Each probability is the model's estimate that FER-2013's annotators would have given the face that label.")
PEOPLE_WORDING = Wording(
    chart="How 10 people would label this face", largest_face="Largest face: how 10 people would label it",
    timeline="How 10 people would label this face, over time",
    meaning="Each bar is the share of 10 people who would label the face so (the model learned from FER+, where 10 "
            "annotators labelled every FER-2013 face).")


def wording_for(trained_on: str) -> Wording:
    """The words for a model's `trained_on` (its config.json's; FER-2013 labels where a config has none)."""
    return PEOPLE_WORDING if trained_on == FERPLUS_VOTES_SOURCE else FER2013_WORDING


def with_meaning(result: dict, model: EmotionClassifier) -> dict:
    """An API result (one picture's or a clip's) with the sentence saying what its probabilities are."""
    return {"probabilities_mean": wording_for(model.trained_on).meaning, **result}
