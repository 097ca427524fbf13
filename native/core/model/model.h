// The conditional VAE of Shmilovich et al. 2022 (§2.2, SI §4.1): residual 3-D
// CNNs over voxelized particles, and one training step with all six loss terms.
// Pure libtorch: no Node here.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/pooling.h>
#include <torch/optim/adam.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/dist/group.h"

namespace tcbm {

struct ModelConfig {
  int64_t atoms = 0;          // N atomistic particles
  int64_t beads = 0;          // n CG beads
  int64_t grid = 12;          // G voxels per axis (divisible by 4: the encoder halves it twice)
  double width = 1.8;         // L nm
  double sigma = 0.05398;     // Gaussian width, nm
  int64_t latent = 32;        // latent dimension
  int64_t encoder_width = 32; // hidden channels of the encoder
  int64_t decoder_width = 32; // hidden channels of the decoder condition and latent paths
  int64_t condition_blocks = 2;  // residual blocks on (A(t-1), C(t)) at full grid
  int64_t trunk_blocks = 3;      // residual blocks at 2x decoder width after concatenation
  bool previous_frame = true;    // false: the frame-based ablation (condition on C(t) only)
  // true (the reference code's convention): A(t-1) and C(t) are each centred on
  // their own mean, and a decoded frame is placed so that its mapped beads'
  // centroid is C(t)'s. false (models before it): everything centred on C(t)'s centroid.
  bool centre_each = false;
  // The reference code's encoder stem is a 5x5x5 convolution (3: models before it).
  int64_t encoder_stem = 3;
  // true (the reference code): z [B, latent] is viewed as (latent/8, 2, 2, 2),
  // replication-padded to the grid and embedded by a 5x5x5 convolution and
  // LeakyReLU; false (models before it): z broadcast over the grid, 3x3x3
  // convolution, LayerNorm, LeakyReLU.
  bool latent_reference = false;
  // true: the decoder's density is the displacement from A(t-1) (as conditioned
  // on: centred, in the network's frame) to A(t); the decoded frame is A(t-1)
  // plus its collapse, and the voxel loss's target is the displacement's density.
  // false (the paper, every model before it): the density is A(t) itself.
  bool displacement = false;
  // true: the decoder is told how rough its CG condition is, a noise level (the
  // standard deviation of Gaussian noise per bead coordinate, nm) that it adds,
  // scaled by kNoiseUnit and through learnt per-channel weights (zero at first),
  // after its condition stem and at its trunk's input. Level 0 (MD-quality CG)
  // then adds nothing. false (models before it): no such input.
  bool noise_input = false;
  // The first binary_latent latent dimensions reach the decoder as their sign,
  // +1 or -1, with the identity as their gradient (straight-through): a decoder
  // cannot then be given a z between two of its discrete states, which a
  // continuous z decodes as an average of both (a methyl rotor's phases,
  // docs/fidelity.md, sixteenth session). 0 (models before it): all continuous.
  int64_t binary_latent = 0;
};

// The noise level (nm) the decoder's noise input reads as 1. Small, so that a
// rough level (0.02 nm reads as 10) moves the shifts ten times faster than the
// rest of the network: Adam's steps are the same size for every weight, and a
// warm start that adds the input trains at its model's (low) learning rate.
constexpr double kNoiseUnit = 0.002;

// conv3x3 -> norm -> LeakyReLU -> conv3x3 -> norm, plus a shortcut (max-pool and
// a 1x1 conv when the shape changes), then LeakyReLU. The norm is LayerNorm over
// (C, D, H, W) with per-channel affine, i.e. GroupNorm with one group.
// The decoder's 3x3x3 convolutions by Winograd (core/kernels/winograd.h), for inference.
struct FastConvs;

struct ResidualBlockImpl : torch::nn::Module {
  ResidualBlockImpl(int64_t in, int64_t out, int64_t stride);
  at::Tensor forward(const at::Tensor& x, const FastConvs* fast = nullptr);
  torch::nn::Conv3d conv1{nullptr}, conv2{nullptr}, project{nullptr};
  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  int64_t stride;
};
TORCH_MODULE(ResidualBlock);

struct EncoderImpl : torch::nn::Module {
  explicit EncoderImpl(const ModelConfig& c);
  // voxels [B, 2N+n (or N+n), G, G, G] -> (mu, logvar) [B, latent]
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& voxels);
  torch::nn::Conv3d stem{nullptr};
  torch::nn::GroupNorm stem_norm{nullptr};
  torch::nn::ModuleList blocks;
  torch::nn::Linear mu{nullptr}, logvar{nullptr};
};
TORCH_MODULE(Encoder);

struct DecoderImpl : torch::nn::Module {
  explicit DecoderImpl(const ModelConfig& c);
  // condition voxels [B, N+n (or n), G, G, G], z [B, latent] -> density [B, N, G, G, G] in (0, 1);
  // noise [B] the CG condition's noise level in kNoiseUnit (noise_input models; undefined: 0)
  at::Tensor forward(const at::Tensor& condition, const at::Tensor& z, const FastConvs* fast = nullptr,
                     const at::Tensor& noise = {});
  torch::nn::Conv3d condition_stem{nullptr}, latent_stem{nullptr}, head{nullptr};
  torch::nn::Linear noise_condition{nullptr}, noise_trunk{nullptr};  // noise_input only
  torch::nn::GroupNorm condition_norm{nullptr}, latent_norm{nullptr};
  torch::nn::ModuleList condition_blocks, trunk;
  int64_t grid;
  bool latent_reference;
  int64_t binary_latent;
};
TORCH_MODULE(Decoder);

struct CvaeImpl;

struct LossTerms {
  double total = 0, voxel = 0, coord = 0, cg = 0, edm = 0, energy = 0, kl = 0, grad_norm = 0;
  double local = 0;        // the local-geometry term (set_local_pairs), when has_local
  bool has_local = false;
  double floor = 0;        // the pair-floor term (set_pair_floors), when has_floor
  bool has_floor = false;
  double prior = 0;        // the prior-decode term (StepWeights::prior_weight), when has_prior
  bool has_prior = false;
  bool stop = false;       // some rank asked to stop after this step (StepWeights::stop, or-ed over the group)
};

struct StepWeights {
  double gamma = 0;          // energy-loss weight
  double beta = 1;           // KL weight
  double clip_norm = 0;      // gradient-norm clip; 0 = none
  double energy_clamp = 0;   // per-frame energy clamp (kJ/mol) inside the loss; 0 = none
  // 0: the paper's energy MSE in (kJ/mol)^2. > 0: the robust log1p((dE/scale)^2),
  // whose gradient is bounded by 1/scale, so wild structures cannot swamp the
  // structural terms (scale ~ atoms * kT).
  double energy_scale = 0;
  // > 0: the reference's standardised energy error ((E_rec - E_true) / energy_std)^2
  // per frame, clamped at energy_error_clamp when that is > 0. Takes precedence over energy_scale.
  double energy_std = 0;
  double energy_error_clamp = 0;
  // true (needs set_energy's term function): the posterior decode's energy term is
  // each force-field term's error against the target's, summed over the terms, so
  // a frame's hot bonds cannot pay for its cold angles (docs/fidelity.md, ninth session)
  bool energy_terms = false;
  // with energy_terms and energy_scale > 0: the robust scale of each term's error
  // (kJ/mol); 0: energy_scale. A term's thermal spread is a few kJ/mol, a tenth of
  // the total's scale, at which its error would be deep in the flat quadratic part.
  double energy_terms_scale = 0;
  double edm_weight = 1;     // the reference weighs the distance-matrix term by 1/2
  // weight of the CG term (the decoded beads against the CG frame) in both decodes.
  // The rollout's φ/ψ are its beads' dihedrals: the FES follows its bead error.
  double cg_weight = 1;
  bool bf16 = false;         // convolutions and linear layers under bf16 autocast (CPU), fp32 master weights
  double local_weight = 0;   // weight of the local-geometry term (needs set_local_pairs)
  bool local_moments = false;  // the local term on batch means and spreads, not per frame
  double floor_weight = 0;     // weight of the pair-floor term (needs set_pair_floors)
  // > 0 ("free bits", Kingma et al. 2016): the KL term trained is the sum over
  // latent dimensions of each one's batch-mean KL, floored at this many nats, so
  // a dimension that carries less is not pushed further into the prior. The KL
  // reported stays the plain one.
  double free_bits = 0;
  // > 0: the batch is decoded a second time from z drawn from the prior (eps_prior),
  // as at inference, and this weight times that decode's CG term, pair-floor term
  // (floor_weight) and energy term (gamma) joins the loss. The posterior decode
  // alone never shows the decoder the z a rollout draws where the posterior is thin.
  double prior_weight = 0;
  // false: the prior decode is trained on its CG and floor terms only. Its energy
  // against its pair's pulls a random z towards that one frame's energy, which
  // narrows the energy distribution (docs/fidelity.md Y42).
  bool prior_energy = true;
  // Which side of its pair's energy the prior decode's energy term counts:
  // both: every difference, which pulls each draw towards that one frame's energy;
  // above: only energy above the pair's (less a margin), so the worst draw is the
  //   most strained one and a cool draw is left alone, but nothing pushes up;
  // band: only energy further than the margin from the pair's, either side, so a
  //   draw within a thermal spread of its pair is left alone and the mean stays put.
  enum class EnergySide { both, above, band };
  EnergySide prior_energy_side = EnergySide::both;
  // with above or band: the dead zone (kJ/mol) beside the pair's energy
  double prior_energy_margin = 0;
  // with above or band and a prior_cg_level: the margin of the samples whose
  // prior condition is noisy (level > 0); unset: prior_energy_margin. A decode of
  // denoised beads is hotter than its clean pair: at the clean margin every one of
  // them is pushed down, and the decoder, which cannot tell them apart, cools
  // (docs/fidelity.md Y48, Y49); a wide margin asks only that they not blow up.
  std::optional<double> prior_noisy_energy_margin;
  // with a prior_cg_level: the CG weight of the samples whose prior condition is
  // noisy; unset: cg_weight. Holding a decode ×10 to denoised beads, which carry
  // what is left of the noise, strains it (docs/fidelity.md Y52: the noisy
  // input's tail back to Y41's), while the clean conditions' FES wants the weight.
  std::optional<double> prior_noisy_cg_weight;
  // true: with a prior_cg_condition, the prior decode's CG target is that condition
  // (centred), not cg_t: the decoder follows the beads it is given, as a rollout must
  bool prior_follows_condition = false;
  bool rename_symmetric = true;  // rename the target over set_symmetries' groups (when set)
  double learning_rate = 0;  // > 0: Adam's learning rate from this step on (a schedule); 0: unchanged
  // This rank asks to stop after this step (e.g. on SIGINT): with a reducer, every
  // rank learns it in the same step's collective, so all stop at the same step.
  bool stop = false;
};

// The optional inputs of a training step; each may be left undefined.
struct BatchExtras {
  // [B,n,3]: the CG frame the network is conditioned on in place of cg_t (e.g.
  // cg_t with noise); cg_t stays the CG loss's target
  at::Tensor cg_condition;
  // [B] (nm): each sample's noise level, told to a noise_input decoder (undefined: 0)
  at::Tensor cg_level;
  // [draws*B,latent] standard normal, used when w.prior_weight > 0: the z of the
  // prior decode, `draws` per condition (draw-major); with more than one, each
  // condition's worst is trained
  at::Tensor eps_prior;
  // [B,n,3]: the CG frame the prior decode is conditioned on, when not the
  // posterior decode's (e.g. noisy CG denoised as a rollout denoises it); its CG
  // target is cg_t, or this frame under w.prior_follows_condition
  at::Tensor prior_cg_condition;
  // [B] (nm): the noise each prior_cg_condition was drawn with (0: the clean
  // frame); it picks each sample's energy margin (w.prior_noisy_energy_margin)
  // and CG weight (w.prior_noisy_cg_weight)
  at::Tensor prior_cg_level;
};

// Differentiable per-frame internal energy [B] of coords [B, N, 3] nm, soft-clamped above `clamp` when > 0.
using EnergyFn = std::function<at::Tensor(const at::Tensor& coords, double clamp)>;
// Differentiable per-frame energy of each force-field term [B, T] of coords [B, N, 3] nm.
using TermEnergyFn = std::function<at::Tensor(const at::Tensor& coords)>;

// P [atoms, beads] float64 (CPU) = A^-1 M^T (M A^-1 M^T)^-1, A the bond graph's
// Laplacian plus a 1e-4 ridge: x + P (c - M x) is the frame whose mapping M
// [beads, atoms] gives exactly c, moved by the displacement smoothest over the
// bonds [E,2]. The CG-exact rollout and --relax --exact-cg both use it.
at::Tensor cg_projection(const at::Tensor& mapping, const at::Tensor& bonds);

// Batched Kabsch: the proper rotations R [...,3,3] (float32) with x R^T closest to
// reference, for centred x [...,n,3] and reference [...,n,3] or [n,3].
at::Tensor kabsch_rotations(const at::Tensor& x, const at::Tensor& reference);

// Called by a rollout after each step with the step's frames [k,N,3] (rows
// first..first+k of the batch), the frames they followed and the step's CG
// frames [k,n,3]; returns the frames that are written and condition the next
// step (e.g. refined ones). Trajectory groups may call it concurrently, each
// with its own rows.
using StepHook = std::function<at::Tensor(const at::Tensor& frames, const at::Tensor& previous, const at::Tensor& cg,
                                          int64_t t, int64_t first)>;

class Model {
 public:
  Model(const ModelConfig& config, double learning_rate, int64_t seed);

  const ModelConfig& config() const { return config_; }
  int64_t parameter_count() const;
  // Each maps to [beads, atoms]; bead = mapping . atoms.
  void set_mapping(const at::Tensor& mapping) { mapping_ = mapping.to(device_, at::kFloat).contiguous(); }
  // Makes rollout(..., project = true) available: each output frame x is moved
  // by the displacement d that is smoothest over the bond graph (least
  // sum over bonds of |d_i - d_j|^2, plus a small ridge) among those with
  // M (x + d) = C(t) exactly, d = P (C(t) - M x). Substituents then travel with
  // the bead atom they hang on. bonds [E,2] of atom indices, checked here; P (an
  // atoms x atoms solve) is made by the first rollout that projects.
  void set_cg_projection(const at::Tensor& bonds);
  // `terms` (optional) serves StepWeights::energy_terms.
  void set_energy(EnergyFn energy, TermEnergyFn terms = nullptr) {
    energy_ = std::move(energy);
    term_energy_ = std::move(terms);
  }
  // Canonical orientation (instead of random-rotation training): reference [beads,3]
  // nm, centred, the CG frame every training sample's C(t) was superposed on. Each
  // rollout step then rotates its centred condition so that C(t) is superposed
  // on it (Kabsch), decodes, and rotates the frame back. Undefined: lab frame.
  void set_canonical_reference(const at::Tensor& reference);
  // Atom pairs [P,2] (int64) whose distances the local-geometry loss matches to the
  // target's (e.g. the bond graph's 1-2 and 1-3 pairs: bonds and angles); undefined: none.
  void set_local_pairs(const at::Tensor& pairs);
  // The pair-floor term's floors [N, N] (nm; symmetric): each atom pair's closest
  // distance in the training frames. The term is the frame's sum over pairs of
  // relu(floor - d)^2 (each pair once), averaged over the batch: a bounded push
  // apart of atoms decoded closer than the data ever had them (overlaps), where
  // the energy's gradient fades as 1/E. Undefined: none.
  void set_pair_floors(const at::Tensor& floors);
  // Symmetric atoms (AlphaFold's renaming of ambiguous ground-truth atoms): groups
  // [G, A] of atom indices (-1 pads) and each group's permutations [G, P, A] (-1
  // where the group pads; each row a rearrangement of the group's atoms): labels
  // the force field cannot tell apart (a methyl's hydrogens, a carboxylate's
  // oxygens, an aromatic ring's two sides). Each training and validation pair's
  // target is then renamed, group by group, to the permutation closest to the
  // decoded frame, so no loss term asks the network for an average of equivalent
  // positions. Undefined: none. An atom belongs to at most one group.
  void set_symmetries(const at::Tensor& groups, const at::Tensor& permutations);
  // How many latent dimensions the decoder takes as their sign from now on (a
  // training schedule's switch, 0 ... latent; ModelConfig::binary_latent).
  void set_binary_latent(int64_t k);
  void to(const at::Device& device);
  // Data-parallel training: each train_step averages its loss terms and
  // gradients over the reducer's ranks before the update (null: this process alone).
  void set_reducer(std::shared_ptr<GradientReducer> reducer) { reducer_ = std::move(reducer); }
  // Copies rank 0's weights into every rank's (the optimiser state must already agree).
  void sync_weights();

  // One optimisation step on a batch. Inputs are centred and rotated by the
  // caller: aa_t, aa_prev [B,N,3], cg_t [B,n,3], eps [B,latent] standard normal;
  // `extra` holds the optional inputs (BatchExtras).
  LossTerms train_step(const at::Tensor& aa_t, const at::Tensor& aa_prev, const at::Tensor& cg_t,
                       const at::Tensor& eps, const StepWeights& w, const BatchExtras& extra = {});
  // The same loss without gradients or updates (validation).
  LossTerms evaluate(const at::Tensor& aa_t, const at::Tensor& aa_prev, const at::Tensor& cg_t,
                     const at::Tensor& eps, const StepWeights& w, const BatchExtras& extra = {});
  // Gradient norm of every named parameter for one batch, without an update.
  std::vector<std::pair<std::string, double>> parameter_gradients(const at::Tensor& aa_t, const at::Tensor& aa_prev,
                                                                    const at::Tensor& cg_t, const at::Tensor& eps,
                                                                    const StepWeights& w);
  // Posterior (mu, logvar) of each pair.
  std::pair<at::Tensor, at::Tensor> encode(const at::Tensor& aa_t, const at::Tensor& aa_prev, const at::Tensor& cg_t);
  // Reconstruction [B,N,3] from the condition and a latent sample; cg_noise (nm):
  // the CG frames' noise level, told to a noise_input decoder.
  at::Tensor decode(const at::Tensor& aa_prev, const at::Tensor& cg_t, const at::Tensor& z, bool winograd = true,
                    double cg_noise = 0);

  // Autoregressive rollout of T steps for K independent trajectories, lab frame:
  // prev [K,N,3] is A(-1); cg [T,K,n,3]; z [T,K,latent]. Each step centres on the
  // CG beads' centroid (and, with a canonical reference, rotates onto it and back),
  // decodes, and moves back. Returns [T,K,N,3].
  // With `winograd` (default) the decoder's 3x3x3 convolutions run by Winograd
  // F(2x2x2, 3x3x3) on CPU (2.6x fewer multiplications); otherwise by at::conv3d.
  // With `project` each frame is made CG-exact before it conditions the next (set_cg_projection).
  // With `bf16` (CPU only) the decoder's convolutions run in bf16: with `winograd`
  // on a CPU with AVX512-BF16, the Winograd products in bf16 (fp32 accumulation
  // and transforms); otherwise under bf16 autocast in oneDNN's kernels, the whole
  // batch at once. Normalisation, voxels and collapse stay fp32.
  // With `hook`, each step's frames pass through it (StepHook).
  // cg_noise (nm): the CG input's noise level, told to a noise_input decoder (others ignore it).
  at::Tensor rollout(const at::Tensor& prev, const at::Tensor& cg, const at::Tensor& z, bool winograd = true,
                     bool project = false, bool bf16 = false, const StepHook* hook = nullptr, double cg_noise = 0);

  // Weights only (model file) or weights + optimizer (checkpoint), as bytes.
  std::string save(bool with_optimizer);
  void load(const std::string& bytes, bool with_optimizer);
  // Adam afresh (a warm restart): no moments, step count 0, the current learning rate.
  void reset_optimizer();
  // Every parameter, flattened in registration order into one float32 CPU tensor
  // (weight averaging keeps its running mean in this form), and the reverse: the
  // parameters set from such a tensor (its length must be parameter_count()).
  // Neither touches the optimiser's moments.
  at::Tensor flat_parameters() const;
  void set_flat_parameters(const at::Tensor& flat);

 private:
  at::Tensor voxels(const at::Tensor& coords) const;
  // rollout() of trajectories prev [K,N,3] on this thread's ops, all K per step.
  // projection: P, or undefined for the network's output as is.
  // first: the batch row of prev's first trajectory, for the hook.
  at::Tensor rollout_lockstep(at::Tensor prev, const at::Tensor& cg, const at::Tensor& z, const FastConvs* fast,
                              const at::Tensor& projection, bool bf16 = false, const StepHook* hook = nullptr,
                              int64_t first = 0, double cg_noise = 0);
  // The decoder's noise input [B] for levels (nm) [B] (undefined: none), or undefined
  // when the model has no noise input.
  at::Tensor noise_input(const at::Tensor& cg_level) const;
  // Trajectories per group in a CPU rollout (see rollout()).
  static constexpr int64_t kCpuRolloutBatch = 2;
  // Below this many multiply-adds x 2 per frame in the decoder's convolutions a
  // decoder step is too small to share between threads: one frame per group, each
  // group on one thread (measured: the 0.2M-parameter adp-cpu decoder, ~0.2 GFLOP,
  // ran 35 % slower on 2 threads than on 1; the adp preset's 3.2 GFLOP 5 % faster).
  static constexpr double kSharedStepFlops = 1e9;
  // The decoder's convolution FLOPs per frame (2 per multiply-add, as direct convolutions),
  // counted on first use (the architecture never changes).
  double decoder_flops() const;
  mutable std::atomic<double> decoder_flops_{-1};
  at::Tensor encoder_input(const at::Tensor& aa_t, const at::Tensor& aa_prev, const at::Tensor& cg_t) const;
  // The same from voxels already computed (v_aa_prev undefined for the frame-based ablation).
  at::Tensor encoder_input_of(const at::Tensor& v_aa_t, const at::Tensor& v_aa_prev, const at::Tensor& v_cg_t) const;
  at::Tensor condition_input(const at::Tensor& aa_prev, const at::Tensor& cg_t) const;
  // The decoder's Winograd filters, built on first use after the weights last changed (null off CPU).
  const FastConvs* fast_convs(bool wanted, bool bf16 = false);
  LossTerms loss(const at::Tensor& aa_t, const at::Tensor& aa_prev, const at::Tensor& cg_t, const at::Tensor& eps,
                 const StepWeights& w, at::Tensor* total, const BatchExtras& extra = {});

  ModelConfig config_;
  std::shared_ptr<CvaeImpl> root_;  // owns encoder and decoder: one archive holds every weight
  Encoder encoder_{nullptr};
  Decoder decoder_{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer_;
  std::shared_ptr<FastConvs> fast_;       // reset whenever the weights change
  std::shared_ptr<FastConvs> fast_bf16_;  // fast_'s filters with bf16 products
  at::Tensor mapping_;
  at::Tensor bonds_;       // [E,2] int64 of set_cg_projection, or undefined
  at::Tensor projection_;  // P [atoms, beads], made from bonds_ on first use
  at::Tensor local_pairs_;  // [P,2] int64 of set_local_pairs, or undefined
  at::Tensor pair_floors_;  // [N,N] float of set_pair_floors, or undefined
  at::Tensor sym_groups_;   // [G,A] int64 of set_symmetries (padding = atoms), or undefined
  at::Tensor sym_perms_;    // [G,P,A] int64 likewise
  // aa_t [B,N,3] with each symmetric group's atoms renamed to the permutation
  // closest to `decoded` (same centring); no gradient.
  at::Tensor renamed_target(const at::Tensor& aa_t, const at::Tensor& decoded) const;
  at::Tensor canonical_;   // [beads, 3] float64 of set_canonical_reference, or undefined
  const at::Tensor& projection();
  EnergyFn energy_;
  TermEnergyFn term_energy_;
  std::shared_ptr<GradientReducer> reducer_;
  at::Device device_ = at::kCPU;
};

}  // namespace tcbm
