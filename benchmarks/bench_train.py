"""Training-step throughput of every model against a bare beta-VAE step, side by side.

The bare step is a plain `tf.function` with the same Keras encoder/decoder architecture, loss
(Bernoulli reconstruction + beta * analytic KL) and Adam update, and none of tfdis's machinery
(posterior objects, metric trackers, NaN check, stateless noise seeding). Every model's step
(built from `gin_configs/models/<name>.gin`, 10 latents) and the bare step read the same in-memory
batch in alternating timed blocks, so machine noise hits both alike; the ratio is what counts.
The input pipeline is measured on its own to show it is not the bottleneck. For CascadeVAE the
script also prints the share of its step spent in the exact assignment and in the unary-cost
decodes of its discrete step.

    python benchmarks/bench_train.py [--models=betavae,betatcvae,...] [--batch_sizes=64,256]
        [--rounds=5] [--steps=30] [--reference=bare|betavae]
    python benchmarks/bench_train.py --phases=betavae,betatcvae,factorvae,cascadevae
        (per-phase milliseconds per step, FLOPs per step and achieved FLOP/s)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin
import keras
import numpy as np
import tensorflow as tf

from tfdis.data import labelled, pipeline, weak
from tfdis.data.named_data import get_named_ground_truth_data
from tfdis.models import architectures
from tfdis.testing import build_configured_model
from tfdis.utils import gin_utils

MODELS = (
    "betavae",
    "annealedvae",
    "betatcvae",
    "factorvae",
    "dipvae_i",
    "dipvae_ii",
    "rtcvae",
    "cascadevae",
    "jointvae",
    "ada_gvae",
    "ada_mlvae",
    "gvae_labels",
    "mlvae_labels",
    "s2_vae",
    "s2_beta_tc_vae",
    "s2_dip_vae",
    "s2_factor_vae",
    "s2_annealed_vae",
    "supervised",
)
# Weakly-supervised models: a step reads batch_size pairs (`tfdis.data.weak`).
PAIR_MODELS = ("ada_gvae", "ada_mlvae", "gvae_labels", "mlvae_labels")
# Semi-supervised models: a step also encodes a labelled batch of batch_size points.
SEMI_SUPERVISED_MODELS = (
    "s2_vae",
    "s2_beta_tc_vae",
    "s2_dip_vae",
    "s2_factor_vae",
    "s2_annealed_vae",
    "supervised",
)
# The dataset-level constants the discrete models' configs leave to the top-level configs (the
# dSprites ones, SPEC section 7); CascadeVAE's discrete step is on from step 0 so it is timed.
MODEL_BINDINGS = {
    "cascadevae": [
        "cascade_vae.num_categories = 3",
        "cascade_vae.pair_penalty = 0.001",
        "cascade_vae.relief_interval = 20000",
        "cascade_vae.discrete_start = 0",
    ],
    "jointvae": [
        "joint_vae.discrete_sizes = [3]",
        "joint_vae.continuous_capacity = 40.",
        "joint_vae.discrete_capacity = 1.1",
        "joint_vae.capacity_steps = 300000",
        "joint_vae.gamma = 150.",
    ],
}


def make_tfdis_model(name: str, observation_shape, dataset_size: int, seed: int = 0):
    """The model of `gin_configs/models/<name>.gin` with 10 latents, built with its optimizers.

    A semi-supervised model gets the labelled set of its config (1000 dSprites points) first.
    """
    config, bindings = (
        [f"models/{name}.gin"],
        ["encoder.num_latent = 10", *MODEL_BINDINGS.get(name, [])],
    )
    if name not in SEMI_SUPERVISED_MODELS:
        return build_configured_model(
            config, bindings, observation_shape, noise_seed=seed, dataset_size=dataset_size
        )
    gin_utils.parse_config(config, bindings)
    model = gin.query_parameter("model.model").scoped_configurable_fn()
    num_labelled = gin.query_parameter("model.num_labelled_samples")
    data = get_named_ground_truth_data(name="dsprites_procedural")
    model.attach_labelled_set(labelled.make_labelled_set(data, num_labelled, 0.9, seed))
    model.build_networks(observation_shape, noise_seed=seed, dataset_size=dataset_size)
    model.configure_optimizers()
    return model


def make_tfdis_step(name: str, observation_shape, dataset_size: int, seed: int = 0):
    """The train step of `gin_configs/models/<name>.gin`, and its batches per step."""
    model = make_tfdis_model(name, observation_shape, dataset_size, seed)
    return tf.function(model.train_step), model.batches_per_step


def model_input(name: str, data, batch, batches_per_step: int):
    """A step's input: the batch repeated, or for a pair model (`ada_gvae`, ...) batch_size
    pairs and their labels (one step trains on batch_size pairs, 2 x batch_size images)."""
    if name not in PAIR_MODELS:
        return tf.concat([batch] * batches_per_step, axis=0)
    size = int(batch.shape[0]) * batches_per_step
    settings = weak.Dynamics(k=-1)
    return next(iter(weak.make_pair_dataset(data, size, 0, num_batches=1, settings=settings)))


def cascade_discrete_step_shares(batch, rounds: int, steps: int) -> dict[str, float]:
    """Median shares of a CascadeVAE step (K = 3) spent on its discrete step's two parts.

    - `assignment`: the exact solver (scipy's linear_sum_assignment on the B x KB matrix),
      called on the costs of the batch exactly as the step calls it;
    - `unary_costs`: the K no-gradient decodes that produce the costs.
    Both are timed alone, back to back with the whole step.
    """
    from tfdis.models import assignment

    model = make_tfdis_model("cascadevae", tuple(batch.shape[1:]), 737280)
    step = tf.function(model.train_step)
    latents = tf.random.stateless_normal((int(batch.shape[0]), model.num_latent), seed=[0, 1])
    unary = tf.function(model.unary_costs)
    costs = unary(batch, latents).numpy()
    step(batch)

    def timed(fn, repeats):
        start = time.perf_counter()
        for _ in range(repeats):
            out = fn()
        tf.nest.map_structure(lambda t: getattr(t, "numpy", lambda: t)(), out)
        return (time.perf_counter() - start) / repeats

    shares = {"assignment": [], "unary_costs": []}
    for _ in range(rounds):
        t_step = timed(lambda: step(batch), steps)
        t_unary = timed(lambda: unary(batch, latents), steps)
        t_assign = timed(lambda: assignment.assign_categories(costs, model.pair_penalty), steps)
        shares["assignment"].append(t_assign / t_step)
        shares["unary_costs"].append(t_unary / t_step)
    gin.clear_config()
    return {key: statistics.median(values) for key, values in shares.items()}


def make_bare_step(observation_shape):
    encoder = architectures.conv_encoder(input_shape=observation_shape, num_latent=10)
    decoder = architectures.deconv_decoder(num_latent=10, output_shape=observation_shape)
    variables = encoder.trainable_variables + decoder.trainable_variables
    optimizer = keras.optimizers.Adam(1e-4)
    optimizer.build(variables)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            mean, logvar = encoder(x, training=True)
            z = mean + tf.exp(0.5 * logvar) * tf.random.normal(tf.shape(mean))
            logits = decoder(z, training=True)
            recon = tf.reduce_sum(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), axis=[1, 2, 3]
            )
            kl = 0.5 * tf.reduce_sum(tf.square(mean) + tf.exp(logvar) - logvar - 1.0, axis=1)
            loss = tf.reduce_mean(recon) + 4.0 * tf.reduce_mean(kl)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    return step


def make_bare_factorvae_step(observation_shape):
    """A bare FactorVAE step: the bare VAE step plus SPEC's 6 x 1000 discriminator, gamma TC,
    the discriminator loss on permuted codes and a second Adam, nothing else. It measures what
    the discriminator itself costs, so the tfdis FactorVAE step can be compared with it."""
    encoder = architectures.conv_encoder(input_shape=observation_shape, num_latent=10)
    decoder = architectures.deconv_decoder(num_latent=10, output_shape=observation_shape)
    discriminator = architectures.fc_discriminator(num_latent=10)
    vae_variables = encoder.trainable_variables + decoder.trainable_variables
    disc_variables = discriminator.trainable_variables
    vae_optimizer, disc_optimizer = (
        keras.optimizers.Adam(1e-4),
        keras.optimizers.Adam(1e-4, 0.5, 0.9),
    )
    vae_optimizer.build(vae_variables)
    disc_optimizer.build(disc_variables)

    @tf.function
    def step(x):
        with tf.GradientTape(persistent=True) as tape:
            mean, logvar = encoder(x, training=True)
            z = mean + tf.exp(0.5 * logvar) * tf.random.normal(tf.shape(mean))
            logits = decoder(z, training=True)
            recon = tf.reduce_sum(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), axis=[1, 2, 3]
            )
            kl = 0.5 * tf.reduce_sum(tf.square(mean) + tf.exp(logvar) - logvar - 1.0, axis=1)
            d_z = discriminator(z, training=True)
            tc = tf.reduce_mean(d_z[:, 0] - d_z[:, 1])
            loss = tf.reduce_mean(recon) + tf.reduce_mean(kl) + 35.0 * tc
            shuffled = tf.transpose(tf.map_fn(tf.random.shuffle, tf.transpose(tf.stop_gradient(z))))
            d_perm = discriminator(shuffled, training=True)
            ones = tf.ones(tf.shape(z)[:1], tf.int32)
            disc_loss = 0.5 * (
                tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(0 * ones, d_z))
                + tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(ones, d_perm))
            )
        vae_optimizer.apply_gradients(
            zip(tape.gradient(loss, vae_variables), vae_variables, strict=True)
        )
        disc_optimizer.apply_gradients(
            zip(tape.gradient(disc_loss, disc_variables), disc_variables, strict=True)
        )
        return loss

    return step


def step_flops(step, batch) -> float:
    """Floating-point operations of one traced step, from TF's graph profiler (`[B, H, W, C]`).

    Counts the ops with registered FLOP statistics (matmuls, convolutions and their gradients,
    elementwise arithmetic); that is where nearly all of a VAE step's work is.
    """
    from tensorflow.python.profiler.model_analyzer import profile
    from tensorflow.python.profiler.option_builder import ProfileOptionBuilder

    graph = step.get_concrete_function(batch).graph
    options = (
        ProfileOptionBuilder(ProfileOptionBuilder.float_operation()).with_empty_output().build()
    )
    return float(profile(graph, options=options).total_float_ops)


def phase_breakdown(name: str, data, batch_size: int, steps: int, rounds: int) -> dict:
    """Median seconds per step of each phase of `name`'s train step, measured back to back.

    - input: one batch from the `tf.data` pipeline;
    - forward: the loss terms alone (`compute_loss_terms`, no tape);
    - backward: forward + gradients minus forward;
    - optimizer: the whole train step minus forward + gradients (updates, NaN check, trackers;
      for FactorVAE also the discriminator's gradients). A difference of two timings: when the
      updates are cheap it is within the noise and can come out slightly negative;
    - summaries: writing the step's scalars to TensorBoard, per step at dlib's interval (100).
    """
    model = make_tfdis_model(name, tuple(data.observation_shape), data.dataset_size)
    batch = tf.constant(
        pipeline.sample_batch(
            data, batch_size * model.batches_per_step, 0, 0, pipeline.TRAIN_STREAM
        )
    )
    seed = tf.constant([0, 0], tf.int64)
    step_counter = model.optimizer.iterations

    @tf.function
    def forward(x):
        return model.compute_loss_terms(x[:batch_size], seed, step_counter, training=True)["loss"]

    @tf.function
    def forward_backward(x):
        with tf.GradientTape() as tape:
            loss = model.compute_loss_terms(x[:batch_size], seed, step_counter, training=True)[
                "loss"
            ]
        return tape.gradient(loss, model.vae_variables)

    train_step = tf.function(model.train_step)
    for fn in (forward, forward_backward, train_step):
        fn(batch)  # trace
    writer = tf.summary.create_file_writer(os.path.join("/tmp", f"bench_train_{os.getpid()}"))
    logs = train_step(batch)

    def write_summaries():
        with writer.as_default():
            for key, value in logs.items():
                tf.summary.scalar(key, value, step=0)
        writer.flush()

    def seconds(fn, repeats):
        start = time.perf_counter()
        out = None
        for _ in range(repeats):
            out = fn()
        if out is not None:
            tf.nest.map_structure(lambda t: t.numpy(), out)
        return (time.perf_counter() - start) / repeats

    dataset_iter = iter(
        pipeline.make_dataset(data, batch_size, random_seed=0, num_batches=steps * rounds + 1)
    )
    next(dataset_iter)
    samples = {"input": [], "forward": [], "backward": [], "optimizer": [], "summaries": []}
    for _ in range(rounds):
        t_input = seconds(lambda: next(dataset_iter), steps)
        t_forward = seconds(lambda: forward(batch), steps)
        t_fb = seconds(lambda: forward_backward(batch), steps)
        t_step = seconds(lambda: train_step(batch), steps)
        t_summary = seconds(write_summaries, 5) / 100
        samples["input"].append(t_input)
        samples["forward"].append(t_forward)
        samples["backward"].append(t_fb - t_forward)
        samples["optimizer"].append(t_step - t_fb)
        samples["summaries"].append(t_summary)
    phases = {key: statistics.median(values) for key, values in samples.items()}
    phases["step"] = statistics.median(
        f + b + o
        for f, b, o in zip(
            samples["forward"], samples["backward"], samples["optimizer"], strict=True
        )
    )
    phases["flops"] = step_flops(train_step, batch)
    gin.clear_config()
    return phases


def print_phase_table(rows) -> None:
    print(
        f"{'model':>12} {'batch':>6} {'input':>8} {'forward':>8} {'backward':>9} "
        f"{'optimizer':>10} {'summaries':>10} {'GFLOP/step':>11} {'GFLOP/s':>8}   (ms/step)"
    )
    for name, batch_size, p in rows:
        print(
            f"{name:>12} {batch_size:>6} {1e3 * p['input']:>8.2f} {1e3 * p['forward']:>8.2f} "
            f"{1e3 * p['backward']:>9.2f} {1e3 * p['optimizer']:>10.2f} "
            f"{1e3 * p['summaries']:>10.3f} {p['flops'] / 1e9:>11.2f} "
            f"{p['flops'] / p['step'] / 1e9:>8.1f}"
        )


def images_per_second(step, batch, steps: int) -> float:
    result = None
    start = time.perf_counter()
    for _ in range(steps):
        result = step(batch)
    # Block until the last step has really run.
    tf.nest.map_structure(lambda t: t.numpy(), result)
    return steps * int(tf.nest.flatten(batch)[0].shape[0]) / (time.perf_counter() - start)


def pipeline_images_per_second(data, batch_size: int, batches: int) -> float:
    dataset = pipeline.make_dataset(data, batch_size, random_seed=0, num_batches=batches)
    iterator = iter(dataset)
    next(iterator)  # start-up
    start = time.perf_counter()
    count = 0
    for batch in iterator:
        count += int(batch.shape[0])
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--batch_sizes", default="64,256")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--dataset", default="dsprites_procedural")
    parser.add_argument(
        "--reference",
        choices=("bare", "betavae"),
        default="bare",
        help="the step each model is timed against: the bare tf.function beta-VAE step, or "
        "tfdis's own beta-VAE step (models/betavae.gin)",
    )
    parser.add_argument(
        "--phases",
        default="",
        help="comma-separated models for the per-phase breakdown and FLOP count only, e.g. "
        "betavae,betatcvae,factorvae,cascadevae",
    )
    args = parser.parse_args()
    if args.phases:
        data = get_named_ground_truth_data(name=args.dataset)
        rows = [
            (name, int(b), phase_breakdown(name, data, int(b), args.steps, args.rounds))
            for b in args.batch_sizes.split(",")
            for name in args.phases.split(",")
        ]
        print_phase_table(rows)
        print(
            "GFLOP/s = the profiler's FLOPs of one train step / (forward + backward + optimizer)."
        )
        return

    data = get_named_ground_truth_data(name=args.dataset)
    shape = tuple(data.observation_shape)
    print(
        f"tf {tf.__version__}, keras {keras.__version__}, {os.cpu_count()} CPUs, dataset {args.dataset}"
    )
    print(f"{'model':>12} {'batch':>6} {'model img/s':>12} {'bare img/s':>11} {'ratio':>6}")
    reference_rows = []
    input_rates, cascade_shares = {}, {}
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        batch = tf.constant(pipeline.sample_batch(data, batch_size, 0, 0, pipeline.TRAIN_STREAM))
        if args.reference == "betavae":
            bare_step = make_tfdis_step("betavae", shape, data.dataset_size)[0]
            gin.clear_config()
        else:
            bare_step = make_bare_step(shape)
        images_per_second(bare_step, batch, 3)
        if "factorvae" in args.models.split(","):
            # The discriminator's own cost: a bare FactorVAE step against the bare VAE step.
            bare_factor = make_bare_factorvae_step(shape)
            images_per_second(bare_factor, batch, 3)
            rates = [
                (
                    images_per_second(bare_factor, batch, args.steps),
                    images_per_second(bare_step, batch, args.steps),
                )
                for _ in range(args.rounds)
            ]
            reference_rows.append(
                (
                    batch_size,
                    statistics.median(a / b for a, b in rates),
                    statistics.median(a for a, _ in rates),
                )
            )
        for name in args.models.split(","):
            step, batches_per_step = make_tfdis_step(name, shape, data.dataset_size)
            model_batch = model_input(name, data, batch, batches_per_step)
            images_per_second(step, model_batch, 3)  # trace and warm up
            model_rates, bare_rates, ratios = [], [], []
            for _ in range(args.rounds):
                # Images/s counts the batch_size images (pair models: pairs) a step trains on.
                a = images_per_second(step, model_batch, args.steps) / batches_per_step
                b = images_per_second(bare_step, batch, args.steps)
                model_rates.append(a)
                bare_rates.append(b)
                ratios.append(a / b)
            print(
                f"{name:>12} {batch_size:>6} {statistics.median(model_rates):>12.0f} "
                f"{statistics.median(bare_rates):>11.0f} {statistics.median(ratios):>6.3f}",
                flush=True,
            )
            gin.clear_config()
        if "cascadevae" in args.models.split(","):
            cascade_shares[batch_size] = cascade_discrete_step_shares(
                batch, args.rounds, args.steps
            )
        input_rates[batch_size] = pipeline_images_per_second(
            data, batch_size, max(20, 4096 // batch_size)
        )
    for batch_size, ratio, rate in reference_rows:
        print(
            f"bare FactorVAE step (bare VAE + 6x1000 discriminator), batch {batch_size}: "
            f"{rate:.0f} images/s, ratio to the bare VAE step {ratio:.3f}"
        )
    for batch_size, shares in cascade_shares.items():
        print(
            f"CascadeVAE step, batch {batch_size}: exact assignment {100 * shares['assignment']:.1f}% "
            f"of the step, the K = 3 unary-cost decodes {100 * shares['unary_costs']:.1f}%"
        )
    for batch_size, rate in input_rates.items():
        print(f"input pipeline, batch {batch_size}: {rate:.0f} images/s")
    print(
        f"ratio = median over rounds of (model images/s) / ({args.reference} beta-VAE images/s), "
        "back to back; pair models count pairs (a step encodes and decodes 2 x batch images)."
    )


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
