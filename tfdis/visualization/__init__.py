"""Pictures of trained runs and of datasets (issue 7).

- `images`: uint8 conversion, image grids, PNG and animated GIF files (padded tile layout and
  latent-traversal grids live in `tfdis.utils.image_grids`, shared with training).
- `traversals`: latent traversals of any numpy decoder (dlib's three kinds, discrete codes).
- `plots`: pair plots, latent x factor heatmaps, latent mean vs factor value (matplotlib, Agg).
- `visualize`: `visualize_run(model_dir)`, every picture of a run from its SavedModel.
- `visualize_dataset`: `visualize_dataset(name, output_dir)`, samples and factor sweeps.

Submodules are imported on use, so `traversals` and `images` never load TensorFlow.
"""
