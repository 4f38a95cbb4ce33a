import torch

from fer.augment import mixup, random_erasing


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


def test_mixup_blends_each_image_with_a_partner_and_keeps_the_larger_share():
    pixels = torch.arange(16.0).view(16, 1, 1, 1).expand(16, 1, 4, 4)
    generator = torch.Generator().manual_seed(0)
    shares = []
    for _ in range(20):
        mixed, partners, share = mixup(pixels, alpha=0.4, generator=generator)
        assert sorted(partners.tolist()) == list(range(16)), "partners are not a permutation of the batch"
        assert torch.allclose(mixed[:, 0, 0, 0], share * pixels[:, 0, 0, 0] + (1 - share) * partners.float())
        shares.append(share)
    assert min(shares) >= 0.5 and max(shares) <= 1.0
    assert len(set(shares)) == len(shares), "the share is not drawn afresh for each batch"
