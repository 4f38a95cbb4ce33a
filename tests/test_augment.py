import torch

from fer.augment import random_erasing


def test_random_erasing_replaces_one_rectangle_per_chosen_image():
    pixels = torch.full((64, 1, 40, 40), 100.0)
    generator = torch.Generator().manual_seed(0)
    erased = random_erasing(pixels, probability=1.0, generator=generator)
    for image in erased[:, 0]:
        changed = image != 100.0
        rows, cols = changed.any(1).nonzero().flatten(), changed.any(0).nonzero().flatten()
        assert 0 < changed.sum() < 0.5 * image.numel()
        box = changed[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
        assert box.all(), "the changed pixels are not one filled rectangle"
    assert erased.min() >= 0 and erased.max() <= 255


def test_random_erasing_with_probability_zero_changes_nothing():
    pixels = torch.rand(8, 1, 40, 40) * 255
    assert torch.equal(random_erasing(pixels, 0.0, torch.Generator().manual_seed(0)), pixels)
