"""CascadeVAE and JointVAE: schedules, the discrete step, falling losses, export and evaluation."""

from __future__ import annotations

import gin
import numpy as np
import pytest
import tensorflow as tf

from tfdis.evaluation.saved_model_functions import SavedModelPosterior
from tfdis.models import cascade_vae, joint_vae, losses
from tfdis.postprocessing import postprocess
from tfdis.testing import TINY_TRAINING_BINDINGS, build_configured_model
from tfdis.training import train
from tfdis.utils import gin_utils, layout

TINY_RUN = [
    b for b in TINY_TRAINING_BINDINGS if not b.startswith(("model.model", "vae.", "en", "de"))
]
SMALL = {
    "cascadevae": [
        "encoder.num_latent = 3",
        "cascade_vae.num_categories = 3",
        "cascade_vae.pair_penalty = 0.1",
        "cascade_vae.relief_interval = 2",
        "cascade_vae.discrete_start = 2",
        "AdamOptimizer.learning_rate = 0.001",
    ],
    "jointvae": [
        "encoder.num_latent = 3",
        "joint_vae.discrete_sizes = [3, 2]",
        "joint_vae.continuous_capacity = 5.",
        "joint_vae.discrete_capacity = 5.",
        "joint_vae.capacity_steps = 10",
        "joint_vae.gamma = 30.",
        "AdamOptimizer.learning_rate = 0.001",
    ],
}


def _squares(num=16):
    x = np.zeros((num, 64, 64, 1), np.float32)
    for i in range(num):
        x[i, 10 + 2 * i : 30 + 2 * i, 12 + (i % 3) * 8 : 36 + (i % 3) * 8] = 1.0
    return x


def _build(name):
    return build_configured_model([f"models/{name}.gin"], SMALL[name], (64, 64, 1))


def _reference_num_relieved(step, num_latent, relief_interval, discrete_start):
    """The reference's run_batch: i = step // r; min(i + 1, n) before t_d, min(i, n) after."""
    i = step // relief_interval
    return min(i + 1, num_latent) if step < discrete_start else min(i, num_latent)


@pytest.mark.parametrize(
    "config, expected",
    [
        # Supplement B.1 (r = 2e4, t_d = 1e5), 6 dims: the pause is [t_d, t_d + r).
        ("cascadevae.gin", [0, 20000, 40000, 60000, 80000, 120000]),
        # B.2 (r = 1e4, t_d = 0), 10 dims: nothing is relieved before step r.
        ("cascadevae_mnist.gin", [10000 * (j + 1) for j in range(10)]),
    ],
)
def test_relief_steps_of_the_reference_code(config, expected):
    gin_utils.parse_config([config], [])
    try:
        d = gin.query_parameter("encoder.num_latent")
        r = gin.query_parameter("cascade_vae.relief_interval")
        t_d = gin.query_parameter("cascade_vae.discrete_start")
    finally:
        gin.clear_config()
    relief = cascade_vae.relief_steps(d, r, t_d)
    np.testing.assert_array_equal(relief, expected)
    for step in range(0, 13 * r, r // 4):  # every quarter interval, through the whole schedule
        assert np.sum(step >= relief) == _reference_num_relieved(step, d, r, t_d), step


def test_relief_schedule_refuses_bad_intervals():
    with pytest.raises(ValueError, match="positive"):
        cascade_vae.relief_steps(3, 0, 0)
    with pytest.raises(ValueError, match="multiple"):  # the reference counts t_d in intervals
        cascade_vae.CascadeVAE(3, relief_interval=20000, discrete_start=30000)


def test_beta_per_dimension_follows_the_schedule():
    model = cascade_vae.CascadeVAE(3, beta_h=10.0, beta_l=0.1, relief_interval=20000,
                                   discrete_start=100000)  # fmt: skip
    model.relief = tf.constant(cascade_vae.relief_steps(6, 20000, 100000))
    expected = {
        0: [0.1] + [10.0] * 5,
        19999: [0.1] + [10.0] * 5,
        20000: [0.1] * 2 + [10.0] * 4,
        80000: [0.1] * 5 + [10.0],
        119999: [0.1] * 5 + [10.0],
        120000: [0.1] * 6,
    }
    for step, beta in expected.items():
        np.testing.assert_allclose(model.beta_per_dimension(tf.constant(step)).numpy(), beta)
    assert not bool(model.discrete_active(tf.constant(99999)))
    assert bool(model.discrete_active(tf.constant(100000)))


def test_cascade_unary_costs_are_per_category_decodes():
    model = _build("cascadevae")
    x = tf.constant(_squares(5))
    z = tf.random.stateless_normal((5, 3), seed=[1, 2])
    costs = model.unary_costs(x, z).numpy()
    for k in range(3):
        one_hot = tf.one_hot(tf.fill([5], k), 3)
        logits = model.decoder(tf.concat([z, one_hot], axis=1))
        np.testing.assert_allclose(costs[:, k], losses.bernoulli_loss(x, logits).numpy(), rtol=1e-4)
    # Inference is the argmin of the costs at the mean.
    mean = model.posterior(x).mean
    categories, _ = model.infer_categories(x, mean)
    np.testing.assert_array_equal(
        categories.numpy()[:, 0], model.unary_costs(x, mean).numpy().argmin(axis=1)
    )


def test_joint_capacity_schedule_and_cap():
    assert float(joint_vae.linear_capacity(tf.constant(0), 5.0, 100)) == 0.0
    assert float(joint_vae.linear_capacity(tf.constant(25), 5.0, 100)) == pytest.approx(1.25)
    assert float(joint_vae.linear_capacity(tf.constant(1000), 5.0, 100)) == pytest.approx(5.0)
    assert float(joint_vae.linear_capacity(tf.constant(25), 5.0, 100, 1.0)) == pytest.approx(1.0)
    model = joint_vae.JointVAE([10], 5.0, 5.0, 100, gamma_continuous=30.0)
    assert model.discrete_capacity == 5.0  # C_max of the ramp; the clip is on the ramped value
    assert model.discrete_capacity_limit == pytest.approx(np.log(10))
    assert model.gamma_discrete == 30.0


def test_joint_discrete_capacity_ramps_like_the_reference_on_mnist():
    # Dupont's joint-vae: C_c(t) = min(C_max t / T, C_max, sum log K). jointvae_mnist.gin has
    # C_max = 5 nats over T = 25k steps and K = 10, so C_c reaches log 10 = 2.303 at
    # t = 25k x log(10) / 5 = 11,513 and stays there; C_z keeps rising to 5 at 25k.
    gin_utils.parse_config(["jointvae_mnist.gin"], [])
    try:
        model = gin.query_parameter("model.model").scoped_configurable_fn()
    finally:
        gin.clear_config()
    expected = {
        0: (0.0, 0.0),
        5000: (1.0, 1.0),
        11000: (2.2, 2.2),
        11513: (2.3026, 2.3026),
        12000: (2.4, np.log(10)),
        25000: (5.0, np.log(10)),
        100000: (5.0, np.log(10)),
    }
    for step, (c_z, c_c) in expected.items():
        capacity_z, capacity_c = model.capacities(tf.constant(step))
        assert float(capacity_z) == pytest.approx(c_z, abs=1e-4), step
        assert float(capacity_c) == pytest.approx(c_c, abs=1e-4), step


def test_joint_codes_are_one_hot_argmax_at_evaluation():
    model = _build("jointvae")
    x = tf.constant(_squares(6))
    encoded = model.encode_discrete(x)
    assert encoded["category"].shape == (6, 2)
    logits = encoded["category_logits"].numpy()
    np.testing.assert_array_equal(encoded["category"][:, 0], logits[:, :3].argmax(axis=1))
    np.testing.assert_array_equal(encoded["category"][:, 1], logits[:, 3:].argmax(axis=1))
    # The evaluation decode (call) feeds exact one-hots of the argmax.
    expected = model.decoder(
        tf.concat(
            [
                encoded["mean"],
                tf.one_hot(encoded["category"][:, 0], 3),
                tf.one_hot(encoded["category"][:, 1], 2),
            ],
            axis=1,
        )
    )
    np.testing.assert_allclose(model(x).numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["cascadevae", "jointvae"])
def test_loss_falls(name):
    model = _build(name)
    batch = tf.constant(_squares())
    step = tf.function(model.train_step)
    first = {k: float(v) for k, v in step(batch).items()}
    for _ in range(30):
        step(batch)
    for tracker in model.metrics:
        tracker.reset_state()
    logs = step(batch)
    assert float(logs["reconstruction_loss"]) < 0.7 * first["reconstruction_loss"]
    if name == "cascadevae":
        assert float(logs["num_relieved"]) == 3.0  # relieved at steps 0, 4 and 6 (t_d = 2)


def test_cascade_pair_penalty_balances_the_assignment():
    # With lambda' far above any difference of unary costs the exact assignment minimizes the
    # number of same-category pairs: 16 images in 3 categories split 6, 5, 5, whose normalized
    # entropy is the logged assignment_balance.
    bindings = [
        *SMALL["cascadevae"],
        "cascade_vae.discrete_start = 0",
        "cascade_vae.pair_penalty = 1e7",
    ]
    model = build_configured_model(["models/cascadevae.gin"], bindings, (64, 64, 1))
    logs = tf.function(model.train_step)(tf.constant(_squares(16)))
    p = np.array([6, 5, 5]) / 16
    assert float(logs["assignment_balance"]) == pytest.approx(
        -np.sum(p * np.log(p)) / np.log(3), rel=1e-5
    )


@pytest.mark.parametrize("name", ["cascadevae", "jointvae"])
def test_trains_exports_reloads_and_evaluates(name, tmp_path):
    model_dir = str(tmp_path / name)
    result = train.train_with_gin(
        model_dir, gin_config_files=[f"models/{name}.gin"], gin_bindings=[*TINY_RUN, *SMALL[name]]
    )
    assert np.isfinite(result["loss"])
    num_codes = 1 if name == "cascadevae" else 2
    saved = tf.saved_model.load(layout.saved_model_dir(model_dir))
    images = tf.constant(_squares(4))
    encoded = saved.encode(images)
    assert encoded["mean"].shape == (4, 3) and encoded["category"].shape == (4, num_codes)
    decoded = saved.decode(encoded["mean"], encoded["category"])["images"]
    np.testing.assert_allclose(saved.reconstruct(images)["images"], decoded, atol=1e-6)
    assert saved.sample(tf.constant(3), tf.constant(0))["images"].shape == (3, 64, 64, 1)

    # The representation appends the categories as extra dimensions.
    output_dir = str(tmp_path / "mean")
    gin_utils.parse_config([], ["postprocess.postprocess_fn = @mean_representation",
                                "postprocess.random_seed = 0"])  # fmt: skip
    postprocess.postprocess(model_dir, output_dir)
    representation_module = tf.saved_model.load(layout.saved_model_dir(output_dir))
    rep = representation_module.representation(images)["representation"].numpy()
    assert rep.shape == (4, 3 + num_codes)
    np.testing.assert_allclose(rep[:, :3], encoded["mean"].numpy(), atol=1e-6)
    np.testing.assert_array_equal(rep[:, 3:], encoded["category"].numpy())

    posterior = SavedModelPosterior(layout.saved_model_dir(output_dir))
    if num_codes == 1:
        logits = posterior.discrete_logits(_squares(4))
        np.testing.assert_array_equal(logits.argmax(axis=1), encoded["category"].numpy()[:, 0])
        mean, _, both_logits = posterior.encode_with_discrete_logits(_squares(4))
        np.testing.assert_allclose(both_logits, logits, rtol=1e-6)
        np.testing.assert_allclose(mean, encoded["mean"].numpy(), atol=1e-6)
        # The CascadeVAE score sees the code as its extra discrete dimension.
        from tfdis.evaluation.metrics import cascade_score
        from tfdis.testing import TinySquares

        scores = cascade_score.compute_cascade_score(
            TinySquares(), posterior, np.random.RandomState(0), num_samples_per_vote=5,
            num_votes=6, num_variance_estimate=50,
        )  # fmt: skip
        assert (
            scores["has_discrete_code"] == 1.0
        )  # values: tests/evaluation/metrics/test_cascade_score.py
    else:  # the CascadeVAE score's single discrete dimension is undefined for two codes
        assert posterior.discrete_logits is None


def test_cascade_exported_before_discrete_start_gates_its_code(tmp_path):
    # Trained 4 steps with t_d = 6: the decoder never saw a code, so the export must not use one.
    model_dir = str(tmp_path / "early")
    bindings = [*TINY_RUN, *SMALL["cascadevae"], "cascade_vae.discrete_start = 6"]
    train.train_with_gin(
        model_dir, gin_config_files=["models/cascadevae.gin"], gin_bindings=bindings
    )
    saved = tf.saved_model.load(layout.saved_model_dir(model_dir))
    images = tf.constant(_squares(4))
    encoded = saved.encode(images)
    np.testing.assert_array_equal(encoded["category"].numpy(), np.zeros((4, 1)))
    np.testing.assert_array_equal(encoded["category_logits"].numpy(), np.zeros((4, 3)))
    decoded = [saved.decode(encoded["mean"], tf.fill([4, 1], k))["images"] for k in range(3)]
    np.testing.assert_array_equal(decoded[0].numpy(), decoded[1].numpy())
    np.testing.assert_array_equal(decoded[0].numpy(), decoded[2].numpy())
    # The same weights past t_d decode each category differently.
    model = build_configured_model(["models/cascadevae.gin"], SMALL["cascadevae"], (64, 64, 1))
    assert not bool(model.code_in_use())
    model.optimizer.iterations.assign(2)  # t_d = 2 in SMALL
    assert bool(model.code_in_use())
    z = tf.zeros([1, 3])
    logits = [model.decode_with_categories(z, tf.constant([[k]])).numpy() for k in range(3)]
    assert np.abs(logits[0] - logits[1]).max() > 0
