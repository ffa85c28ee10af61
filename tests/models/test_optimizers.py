"""dlib's optimizer bindings parse and take effect."""

from __future__ import annotations

import gin
import pytest

from tfdis.models import optimizers
from tfdis.utils import gin_utils


def test_dlib_optimizer_bindings_carry_over():
    gin_utils.parse_config(
        bindings=[
            "vae_optimizer.optimizer_fn = @AdamOptimizer",
            "AdamOptimizer.beta1 = 0.5",
            "AdamOptimizer.name = 'Adam'",
            "AdamOptimizer.use_locking = False",
            "vae_optimizer.learning_rate = 0.003",
            "discriminator_optimizer.optimizer_fn = @discriminator/AdamOptimizer",
            "discriminator/AdamOptimizer.learning_rate = 0.0002",
        ]
    )
    vae_opt = optimizers.make_vae_optimizer()
    disc_opt = optimizers.make_discriminator_optimizer()
    assert float(vae_opt.learning_rate) == pytest.approx(0.003)
    assert vae_opt.beta_1 == 0.5
    assert float(disc_opt.learning_rate) == pytest.approx(0.0002)
    # Gin applies unscoped bindings inside scopes too, unless the scope rebinds them.
    assert disc_opt.beta_1 == 0.5
    gin.clear_config()
