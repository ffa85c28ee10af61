"""Models, architectures and losses. Importing this package registers their gin names."""

from tfdis.models import architectures, losses, vae
from tfdis.models.vae import BaseVAE, BetaVAE

__all__ = ["BaseVAE", "BetaVAE", "architectures", "losses", "vae"]
