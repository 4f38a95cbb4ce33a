import torch

from fer.training.augment import capture_artefacts, mixup, random_erasing


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


def test_capture_artefacts_degrade_about_the_chosen_share_and_keep_the_faces():
    faces = torch.randint(0, 256, (400, 48, 48), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    faces = faces.float().view(400, 1, 48, 48)
    smooth = torch.nn.functional.avg_pool2d(faces, 5, 1, 2).round().to(torch.uint8).squeeze(1)  # face-like, not noise
    degraded = capture_artefacts(smooth, 0.3, torch.Generator().manual_seed(0))
    changed = (degraded != smooth).flatten(1).any(1)
    assert degraded.shape == smooth.shape and degraded.dtype == torch.uint8
    assert 0.2 < changed.float().mean() < 0.4
    difference = (degraded[changed].float() - smooth[changed].float()).abs().mean()
    assert 0 < difference < 20, "artefacts should be mild: the face must stay the same face"


def test_capture_artefacts_with_probability_zero_change_nothing():
    faces = torch.randint(0, 256, (8, 48, 48), dtype=torch.uint8)
    assert torch.equal(capture_artefacts(faces, 0.0, torch.Generator().manual_seed(0)), faces)
