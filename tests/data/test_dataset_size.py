"""`dataset_size` is the number of images, not the size of the exposed factor grid."""

from __future__ import annotations

from tfdis.data.dsprites_procedural import DSpritesProcedural
from tfdis.data.mnist import Digits
from tfdis.data.named_data import get_named_ground_truth_data
from tfdis.testing import TinySquares


def test_dataset_size_counts_images():
    assert TinySquares().dataset_size == 32
    digits = Digits()
    assert digits.num_observations == 10 and digits.dataset_size == 1797
    noshape = DSpritesProcedural(latent_factor_indices=[1, 2, 3, 4])
    assert noshape.num_observations == 6 * 40 * 32 * 32
    assert noshape.dataset_size == 737280


def test_registry_records_the_name():
    assert get_named_ground_truth_data("digits").name == "digits"
