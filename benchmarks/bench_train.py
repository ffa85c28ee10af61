"""Training-step throughput: the tfdis beta-VAE step against a bare step, side by side.

The bare step is a plain `tf.function` with the same Keras encoder/decoder architecture, loss
(Bernoulli reconstruction + beta * analytic KL) and Adam update, and none of tfdis's machinery
(posterior objects, metric trackers, NaN check, stateless noise seeding). Both steps read the same
in-memory batch, in alternating timed blocks, so machine noise hits both alike; the ratio is what
counts. The input pipeline is measured on its own to show it is not the bottleneck.

    python benchmarks/bench_train.py [--batch_sizes=64,256] [--rounds=5] [--steps=30]
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

from tfdis.data import pipeline
from tfdis.data.named_data import get_named_ground_truth_data
from tfdis.models import architectures, vae
from tfdis.training import optimizers


def make_tfdis_step(observation_shape, seed: int = 0):
    gin.parse_config(
        [
            "encoder.num_latent = 10",
            "encoder.encoder_fn = @conv_encoder",
            "decoder.decoder_fn = @deconv_decoder",
        ]
    )
    model = vae.beta_vae(beta=4.0)
    model.build_networks(observation_shape, noise_seed=seed)
    model.configure_optimizers()
    return tf.function(model.train_step)


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


def images_per_second(step, batch, steps: int) -> float:
    result = None
    start = time.perf_counter()
    for _ in range(steps):
        result = step(batch)
    # Block until the last step has really run.
    tf.nest.map_structure(lambda t: t.numpy(), result)
    return steps * int(batch.shape[0]) / (time.perf_counter() - start)


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
    parser.add_argument("--batch_sizes", default="64,256")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--dataset", default="dsprites_procedural")
    args = parser.parse_args()

    data = get_named_ground_truth_data(name=args.dataset)
    shape = tuple(data.observation_shape)
    print(
        f"tf {tf.__version__}, keras {keras.__version__}, {os.cpu_count()} CPUs, dataset {args.dataset}"
    )
    print(f"{'batch':>6} {'tfdis img/s':>12} {'bare img/s':>11} {'ratio':>6} {'input img/s':>12}")
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        batch = tf.constant(pipeline.sample_batch(data, batch_size, 0, 0, pipeline.TRAIN_STREAM))
        tfdis_step, bare_step = make_tfdis_step(shape), make_bare_step(shape)
        for step in (tfdis_step, bare_step):  # trace and warm up
            images_per_second(step, batch, 3)
        tfdis_rates, bare_rates, ratios = [], [], []
        for _ in range(args.rounds):
            a = images_per_second(tfdis_step, batch, args.steps)
            b = images_per_second(bare_step, batch, args.steps)
            tfdis_rates.append(a)
            bare_rates.append(b)
            ratios.append(a / b)
        input_rate = pipeline_images_per_second(data, batch_size, max(20, 4096 // batch_size))
        print(
            f"{batch_size:>6} {statistics.median(tfdis_rates):>12.0f} "
            f"{statistics.median(bare_rates):>11.0f} {statistics.median(ratios):>6.3f} "
            f"{input_rate:>12.0f}"
        )
        gin.clear_config()
    print(
        "ratio = median over rounds of (tfdis images/s) / (bare images/s), measured back to back."
    )


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
