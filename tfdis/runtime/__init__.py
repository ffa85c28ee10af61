"""Runtime helpers below the models: what a loss or a posterior needs to know about the step it
runs in, without importing the training package.

- `replicas`: the replica's rows of sharded noise, and the whole batch gathered or averaged
  across the replicas of a multi-replica step (identity outside one).
- `deferred_updates`: how a model's `apply_updates_if_finite` hands its optimizer updates to a
  step built by `tfdis.training.steps` (several replicas, or XLA).

Both import only TensorFlow; `tfdis.training.steps` builds the steps that use them.
"""
