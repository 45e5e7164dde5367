"""Parameter presets for the Stanford/PKU RRAM model, each citing its source."""

from __future__ import annotations

from sim_instruments.physics.params import StanfordParams

STANFORD_V1 = StanfordParams()
"""The released v1.0.0 Verilog-A defaults (``rram_v_1_0_0.va``, nanoHUB doi:10.4231/D37H1DN48; Jiang et al.,
IEEE TED 63(5):1884, 2016; values originate in Yu et al., IEDM 2012). gap_max = 1.7 nm as in the code (the user
guide says 1.8 nm). Clamped state, γ0 per polarity = 16 (identical to the code's RESET literal)."""

IITM_2024 = StanfordParams(
    I0=19.5e-6,
    g0=0.94e-9,
    V0=0.21,
    v0=1e7,
    gamma0_set=30.0,
    gamma0_reset=30.0,
    beta_set=9.0,
    beta_reset=9.0,
    alpha=0.5,
    gap_min=0.2e-9,
    gap_max=3.3e-9,
    source=(
        "Nandha & Malapaka (IIT Madras), 'Soft Binarized Neural Network for Inference using RRAM Crossbars' "
        "(seed 001): g0 0.94 nm, V0 0.21 V, I0 19.5 uA, v0 1e7 m/s, beta 9, gamma0 30, alpha 0.5; completed as in "
        "reference §6: other fields v1.0.0 defaults, no RESET gamma=16 quirk, gap range [0.2, 3.3] nm "
        "(G_OFF 2.88e-6 S at 0.1 V needs g = 3.300 nm)"
    ),
)
"""Reconstruction of the student paper's parameter set (reference §6). Gives G_ON 7.79e-5 S, G_OFF 2.880e-6 S at
0.1 V; a 100 us ±1.5 V pulse saturates to either bound; V/3 half-select (0.5 V) and ±0.1 V reads are disturb-free."""

PRESETS: dict[str, StanfordParams] = {"stanford_v1": STANFORD_V1, "iitm_2024": IITM_2024}
"""Presets by name (for configuration files)."""
