"""Models, architectures and losses. Importing this package registers their gin names."""

from tfdis.models import (
    annealed_vae,
    architectures,
    assignment,
    beta_tc_vae,
    cascade_vae,
    dip_vae,
    factor_vae,
    infogan,
    joint_vae,
    losses,
    rtc_vae,
    semi_supervised_vae,
    supervised_losses,
    vae,
    weak_vae,
)
from tfdis.models.annealed_vae import AnnealedVAE
from tfdis.models.beta_tc_vae import BetaTCVAE
from tfdis.models.cascade_vae import CascadeVAE
from tfdis.models.dip_vae import DIPVAE
from tfdis.models.factor_vae import FactorVAE
from tfdis.models.infogan import InfoGAN
from tfdis.models.joint_vae import JointVAE
from tfdis.models.rtc_vae import RTCBetaTCVAE, RTCFactorVAE
from tfdis.models.vae import BaseVAE, BetaVAE
from tfdis.models.weak_vae import MLVAE, GroupVAE

__all__ = [
    "DIPVAE",
    "AnnealedVAE",
    "BaseVAE",
    "BetaTCVAE",
    "BetaVAE",
    "CascadeVAE",
    "FactorVAE",
    "GroupVAE",
    "InfoGAN",
    "JointVAE",
    "MLVAE",
    "RTCBetaTCVAE",
    "RTCFactorVAE",
    "annealed_vae",
    "architectures",
    "assignment",
    "beta_tc_vae",
    "cascade_vae",
    "dip_vae",
    "factor_vae",
    "infogan",
    "joint_vae",
    "losses",
    "rtc_vae",
    "semi_supervised_vae",
    "supervised_losses",
    "vae",
    "weak_vae",
]
