#include "core/model/model.h"

#include "core/kernels/voxel.h"
#include "core/kernels/winograd.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <c10/core/InferenceMode.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/serialize.h>
#include <torch/serialize.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <vector>

namespace tcbm {

namespace F = torch::nn::functional;

namespace {

constexpr double kLeakySlope = 0.01;
// The most frames the prior decode's gradient-free search decodes in one batch:
// one draw of a batch of 16 at a time. Measured on one core (AMD EPYC, bf16,
// the adp-cpu last phase, docs/fidelity.md fourteenth session): 8 draws 1.76 →
// 0.52 s a step and 32 draws 14.1 → 2.1 s against all draws in one batch, with
// 32 and 128 frames a batch in between.
constexpr int64_t kPriorDecodesAtOnce = 16;

at::Tensor leaky(const at::Tensor& x) { return at::leaky_relu(x, kLeakySlope); }

torch::nn::Conv3d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, bool bias = false) {
  return torch::nn::Conv3d(torch::nn::Conv3dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(bias));
}

torch::nn::GroupNorm layer_norm(int64_t channels) { return torch::nn::GroupNorm(torch::nn::GroupNormOptions(1, channels)); }

// Normalisation runs in fp32 whatever the convolution before it produced: under
// bf16 autocast its output is bf16, and libtorch 1.13's CPU group_norm refuses
// a bf16 input with fp32 weights (and its statistics want fp32 anyway).
at::Tensor norm(torch::nn::GroupNorm& gn, const at::Tensor& x) {
  return gn(x.scalar_type() == at::kFloat ? x : x.to(at::kFloat));
}

// Parameter initialisation uses libtorch's global generator: seed it and build
// under one lock so concurrent constructions stay reproducible.
std::mutex init_mutex;

}  // namespace

// Winograd forms of the decoder's 3x3x3 stride-1 convolutions, keyed by module,
// with fp32 or (bf16) bf16 products.
struct FastConvs {
  std::unordered_map<const torch::nn::Conv3dImpl*, std::shared_ptr<const WinogradConv>> convs;
  bool bf16 = false;

  void add(const torch::nn::Conv3d& conv) {
    const auto& o = conv->options;
    if ((*o.kernel_size())[0] != 3 || (*o.stride())[0] != 1) return;
    convs.emplace(conv.get(), std::make_shared<const WinogradConv>(conv->weight, conv->bias));
  }
  at::Tensor operator()(torch::nn::Conv3d& conv, const at::Tensor& x) const {
    const auto it = convs.find(conv.get());
    return it != convs.end() && WinogradConv::applies(conv->weight, 1, 1, x) ? (*it->second)(x, bf16) : conv->forward(x);
  }
};

namespace {
at::Tensor run(torch::nn::Conv3d& conv, const at::Tensor& x, const FastConvs* fast) {
  return fast ? (*fast)(conv, x) : conv->forward(x);
}
}  // namespace

ResidualBlockImpl::ResidualBlockImpl(int64_t in, int64_t out, int64_t stride_) : stride(stride_) {
  conv1 = register_module("conv1", conv(in, out, 3, stride));
  norm1 = register_module("norm1", layer_norm(out));
  conv2 = register_module("conv2", conv(out, out, 3));
  norm2 = register_module("norm2", layer_norm(out));
  if (in != out) project = register_module("project", conv(in, out, 1));
}

at::Tensor ResidualBlockImpl::forward(const at::Tensor& x, const FastConvs* fast) {
  auto h = leaky(norm(norm1, run(conv1, x, fast)));
  h = norm(norm2, run(conv2, h, fast));
  auto shortcut = stride > 1 ? at::max_pool3d(x, {stride, stride, stride}) : x;
  if (project) shortcut = project(shortcut);
  return leaky(h + shortcut);
}

EncoderImpl::EncoderImpl(const ModelConfig& c) {
  const int64_t in = c.atoms * (c.previous_frame ? 2 : 1) + c.beads;
  TORCH_CHECK(c.encoder_stem == 3 || c.encoder_stem == 5, "encoder stem must be 3 or 5, got ", c.encoder_stem);
  stem = register_module("stem", conv(in, c.encoder_width, c.encoder_stem));
  stem_norm = register_module("stem_norm", layer_norm(c.encoder_width));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t stride : {1, 2, 1, 2, 1}) blocks->push_back(ResidualBlock(c.encoder_width, c.encoder_width, stride));
  const int64_t g = c.grid / 4;
  const int64_t flat = c.encoder_width * g * g * g;
  mu = register_module("mu", torch::nn::Linear(flat, c.latent));
  logvar = register_module("logvar", torch::nn::Linear(flat, c.latent));
}

std::pair<at::Tensor, at::Tensor> EncoderImpl::forward(const at::Tensor& voxels) {
  auto h = leaky(norm(stem_norm, stem(voxels)));
  for (const auto& block : *blocks) h = block->as<ResidualBlock>()->forward(h);
  h = h.flatten(1);
  return {mu(h).to(at::kFloat), logvar(h).to(at::kFloat)};
}

namespace {
// k, checked as a count of binary latent dimensions of a `latent`-dimensional z
int64_t binary_count(int64_t k, int64_t latent) {
  TORCH_CHECK(k >= 0 && k <= latent, "binary latent dimensions must be 0 ... ", latent, ", got ", k);
  return k;
}
}  // namespace

DecoderImpl::DecoderImpl(const ModelConfig& c)
    : grid(c.grid), latent_reference(c.latent_reference), binary_latent(binary_count(c.binary_latent, c.latent)) {
  const int64_t in = (c.previous_frame ? c.atoms : 0) + c.beads;
  const int64_t w = c.decoder_width;
  condition_stem = register_module("condition_stem", conv(in, w, 3));
  condition_norm = register_module("condition_norm", layer_norm(w));
  condition_blocks = register_module("condition_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.condition_blocks; ++i) condition_blocks->push_back(ResidualBlock(w, w, 1));
  if (c.latent_reference) {
    TORCH_CHECK(c.latent % 8 == 0, "the reference latent path needs a latent dimension divisible by 8, got ", c.latent);
    TORCH_CHECK(c.grid >= 2 && c.grid % 2 == 0, "the reference latent path needs an even grid, got ", c.grid);
    latent_stem = register_module("latent_stem", conv(c.latent / 8, w, 5, 1, /*bias=*/true));
  } else {
    latent_stem = register_module("latent_stem", conv(c.latent, w, 3));
    latent_norm = register_module("latent_norm", layer_norm(w));
  }
  trunk = register_module("trunk", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.trunk_blocks; ++i) trunk->push_back(ResidualBlock(2 * w, 2 * w, 1));
  trunk->push_back(ResidualBlock(2 * w, w, 1));
  head = register_module("head", conv(w, c.atoms, 3, 1, /*bias=*/true));
  // Start with a faint background (sigmoid(-4) = 0.018): a density of 0.5
  // everywhere would collapse every atom onto the grid centre.
  torch::NoGradGuard no_grad;
  head->bias.fill_(-4.0);
  // The noise input starts silent: a network warm-started from one without it
  // decodes as that one did until training teaches it what the level means.
  if (c.noise_input) {
    noise_condition = register_module("noise_condition", torch::nn::Linear(torch::nn::LinearOptions(1, w).bias(false)));
    noise_trunk = register_module("noise_trunk", torch::nn::Linear(torch::nn::LinearOptions(1, 2 * w).bias(false)));
    noise_condition->weight.zero_();
    noise_trunk->weight.zero_();
  }
}

namespace {
// z [B, latent] with its first `binary` dimensions replaced by their sign (0 counts
// as +1: two states, not three), passing the gradient through unchanged.
at::Tensor binarised(const at::Tensor& z, int64_t binary) {
  if (binary == 0) return z;
  const auto head = z.narrow(1, 0, binary);
  const auto sign = head.ge(0).to(head.scalar_type()) * 2 - 1;
  const auto b = head + (sign - head).detach();
  return binary == z.size(1) ? b : at::cat({b, z.narrow(1, binary, z.size(1) - binary)}, 1);
}

// h [B,C,D,H,W] plus a per-channel shift embed(noise) [B,C]; nothing without a noise input.
at::Tensor with_noise(const at::Tensor& h, const torch::nn::Linear& embed, const at::Tensor& noise) {
  if (!embed || !noise.defined()) return h;
  auto shift = at::linear(noise.view({-1, 1}).to(h.device(), at::kFloat), embed->weight);
  return h + shift.view({shift.size(0), shift.size(1), 1, 1, 1}).to(h.scalar_type());
}
}  // namespace

at::Tensor DecoderImpl::forward(const at::Tensor& condition, const at::Tensor& z_in, const FastConvs* fast,
                                const at::Tensor& noise) {
  const auto z = binarised(z_in, binary_latent);
  auto h = with_noise(leaky(norm(condition_norm, run(condition_stem, condition, fast))), noise_condition, noise);
  for (const auto& block : *condition_blocks) h = block->as<ResidualBlock>()->forward(h, fast);
  at::Tensor l;
  if (latent_reference) {
    // (latent/8, 2, 2, 2) replication-padded to the grid, a 5x5x5 convolution with bias, LeakyReLU
    const int64_t pad = (grid - 2) / 2;
    auto zc = at::replication_pad3d(z.reshape({z.size(0), z.size(1) / 8, 2, 2, 2}), {pad, pad, pad, pad, pad, pad});
    l = leaky(latent_stem->forward(zc));
  } else {
    // (z, 1, 1, 1) replication-padded to the grid is z broadcast over it.
    auto zg = z.view({z.size(0), z.size(1), 1, 1, 1}).expand({-1, -1, grid, grid, grid}).contiguous();
    l = leaky(norm(latent_norm, run(latent_stem, zg, fast)));
  }
  h = with_noise(at::cat({h, l}, 1), noise_trunk, noise);
  for (const auto& block : *trunk) h = block->as<ResidualBlock>()->forward(h, fast);
  return at::sigmoid(run(head, h, fast).to(at::kFloat));
}

// ------------------------------------------------------------------- Model

struct CvaeImpl : torch::nn::Module {
  explicit CvaeImpl(const ModelConfig& c) {
    encoder = register_module("encoder", Encoder(c));
    decoder = register_module("decoder", Decoder(c));
  }
  Encoder encoder{nullptr};
  Decoder decoder{nullptr};
};
TORCH_MODULE(Cvae);

namespace {
// A Model keeps its modules in one root so that one archive holds all weights.
std::shared_ptr<CvaeImpl> make_root(const ModelConfig& c, int64_t seed) {
  std::lock_guard<std::mutex> lock(init_mutex);
  torch::manual_seed(static_cast<uint64_t>(seed));
  return std::make_shared<CvaeImpl>(c);
}
}  // namespace

Model::Model(const ModelConfig& config, double learning_rate, int64_t seed) : config_(config) {
  TORCH_CHECK(config.atoms > 0 && config.beads > 0, "model needs atoms > 0 and beads > 0");
  TORCH_CHECK(config.grid >= 4 && config.grid % 4 == 0, "grid must be a multiple of 4 (the encoder halves it twice), got ",
              config.grid);
  TORCH_CHECK(config.latent > 0 && config.encoder_width > 0 && config.decoder_width > 0, "widths must be positive");
  TORCH_CHECK(!config.displacement || config.previous_frame,
              "a decoder of displacements needs the previous frame (not the frame-based ablation)");
  auto root = make_root(config, seed);
  encoder_ = root->encoder;
  decoder_ = root->decoder;
  root_ = root;
  optimizer_ = std::make_unique<torch::optim::Adam>(root->parameters(), torch::optim::AdamOptions(learning_rate));
}

int64_t Model::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : root_->parameters()) n += p.numel();
  return n;
}

at::Tensor Model::flat_parameters() const {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> parts;
  for (const auto& p : root_->parameters()) parts.push_back(p.detach().reshape(-1).to(at::kCPU, at::kFloat));
  return parts.empty() ? at::empty({0}, at::kFloat) : at::cat(parts);
}

void Model::set_flat_parameters(const at::Tensor& flat) {
  if (flat.dim() != 1 || flat.numel() != parameter_count())
    throw std::invalid_argument("set_flat_parameters: expected " + std::to_string(parameter_count()) + " values, got " +
                                std::to_string(flat.numel()));
  torch::NoGradGuard no_grad;
  fast_.reset();
  int64_t at = 0;
  for (auto& p : root_->parameters()) {
    const int64_t k = p.numel();
    p.copy_(flat.narrow(0, at, k).view(p.sizes()));
    at += k;
  }
}

void Model::to(const at::Device& device) {
  fast_.reset();
  root_->to(device);
  device_ = device;
  if (mapping_.defined()) mapping_ = mapping_.to(device);
  if (projection_.defined()) projection_ = projection_.to(device);
  if (canonical_.defined()) canonical_ = canonical_.to(device);
}

void Model::set_canonical_reference(const at::Tensor& reference) {
  if (!reference.defined()) {
    canonical_ = at::Tensor();
    return;
  }
  TORCH_CHECK(reference.dim() == 2 && reference.size(0) == config_.beads && reference.size(1) == 3,
              "set_canonical_reference: expected [", config_.beads, ", 3], got ", reference.sizes());
  canonical_ = reference.to(device_, at::kDouble).contiguous();
}

void Model::set_local_pairs(const at::Tensor& pairs) {
  if (!pairs.defined() || pairs.numel() == 0) {
    local_pairs_ = at::Tensor();
    return;
  }
  TORCH_CHECK(pairs.dim() == 2 && pairs.size(1) == 2, "local pairs must be [P, 2]");
  auto p = pairs.to(at::kLong);
  TORCH_CHECK(p.min().item<int64_t>() >= 0 && p.max().item<int64_t>() < config_.atoms, "local pairs: atom index out of range");
  local_pairs_ = p.to(device_);
}

void Model::set_pair_floors(const at::Tensor& floors) {
  if (!floors.defined()) {
    pair_floors_ = at::Tensor();
    return;
  }
  TORCH_CHECK(floors.dim() == 2 && floors.size(0) == config_.atoms && floors.size(1) == config_.atoms,
              "pair floors must be [", config_.atoms, ", ", config_.atoms, "], got ", floors.sizes());
  TORCH_CHECK(at::isfinite(floors).all().item<bool>() && (floors >= 0).all().item<bool>(),
              "pair floors must be finite distances >= 0");
  pair_floors_ = floors.to(device_, at::kFloat).contiguous();
}

void Model::set_binary_latent(int64_t k) { decoder_->binary_latent = binary_count(k, config_.latent); }

void Model::set_symmetries(const at::Tensor& groups, const at::Tensor& permutations) {
  if (!groups.defined() || groups.numel() == 0) {
    sym_groups_ = sym_perms_ = at::Tensor();
    return;
  }
  TORCH_CHECK(groups.dim() == 2 && permutations.dim() == 3 && permutations.size(0) == groups.size(0) &&
                  permutations.size(2) == groups.size(1) && permutations.size(1) >= 1,
              "symmetries: expected groups [G, A] and permutations [G, P, A], got ", groups.sizes(), " and ",
              permutations.sizes());
  const int64_t n = config_.atoms;
  auto g = groups.to(at::kCPU, at::kLong), p = permutations.to(at::kCPU, at::kLong);
  TORCH_CHECK(g.min().item<int64_t>() >= -1 && g.max().item<int64_t>() < n && p.min().item<int64_t>() >= -1 &&
                  p.max().item<int64_t>() < n,
              "symmetries: atom index out of range [0, ", n, ") (or -1 to pad)");
  // padding -> the extra row `n` the renaming appends (a zero atom that maps to itself)
  g = at::where(g < 0, at::full_like(g, n), g);
  p = at::where(p < 0, at::full_like(p, n), p);
  TORCH_CHECK(std::get<0>(p.sort(-1)).equal(std::get<0>(g.sort(-1)).unsqueeze(1).expand_as(p)),
              "symmetries: each permutation must rearrange its group's atoms (and padding)");
  const auto real = std::get<0>(g.flatten().masked_select(g.flatten() < n).sort());
  TORCH_CHECK(real.numel() < 2 || (real.slice(0, 1) != real.slice(0, 0, -1)).all().item<bool>(),
              "symmetries: an atom is in more than one group");
  sym_groups_ = g.to(device_);
  sym_perms_ = p.to(device_);
}

at::Tensor Model::renamed_target(const at::Tensor& aa_t, const at::Tensor& decoded) const {
  at::NoGradGuard no_grad;
  const int64_t B = aa_t.size(0), N = config_.atoms;
  const int64_t G = sym_groups_.size(0), P = sym_perms_.size(1), A = sym_groups_.size(1);
  const auto pad = at::zeros({B, 1, 3}, aa_t.options());
  const auto t = at::cat({aa_t, pad}, 1), d = at::cat({decoded.detach().to(aa_t.dtype()), pad}, 1);
  const auto dg = d.index_select(1, sym_groups_.flatten()).view({B, G, 1, A, 3});
  const auto tg = t.index_select(1, sym_perms_.flatten()).view({B, G, P, A, 3});
  const auto best = (dg - tg).square().sum({-1, -2}).argmin(-1);  // [B, G]
  const auto chosen =
      sym_perms_.unsqueeze(0).expand({B, G, P, A}).gather(2, best.view({B, G, 1, 1}).expand({B, G, 1, A})).squeeze(2);
  // source[b, i]: the target atom whose position atom i of pair b is compared with
  auto source = at::arange(N + 1, sym_groups_.options()).unsqueeze(0).repeat({B, 1});
  source.scatter_(1, sym_groups_.flatten().unsqueeze(0).expand({B, G * A}), chosen.reshape({B, G * A}));
  return t.gather(1, source.unsqueeze(-1).expand({B, N + 1, 3})).narrow(1, 0, N);
}

at::Tensor Model::voxels(const at::Tensor& coords) const {
  at::NoGradGuard no_grad;
  return voxelize(coords, {config_.grid, config_.width, config_.sigma});
}

at::Tensor Model::encoder_input(const at::Tensor& aa_t, const at::Tensor& aa_prev, const at::Tensor& cg_t) const {
  return encoder_input_of(voxels(aa_t), config_.previous_frame ? voxels(aa_prev) : at::Tensor(), voxels(cg_t));
}

at::Tensor Model::encoder_input_of(const at::Tensor& v_aa_t, const at::Tensor& v_aa_prev, const at::Tensor& v_cg_t) const {
  if (!config_.previous_frame) return at::cat({v_aa_t, v_cg_t}, 1);
  return at::cat({v_aa_t, v_aa_prev, v_cg_t}, 1);
}

at::Tensor Model::condition_input(const at::Tensor& aa_prev, const at::Tensor& cg_t) const {
  if (!config_.previous_frame) return voxels(cg_t);
  return at::cat({voxels(aa_prev), voxels(cg_t)}, 1);
}

namespace {
// bf16 autocast on the CPU for the scope's lifetime: convolutions and linear
// layers run in bf16 (oneDNN, AVX512-BF16 where present) on bf16 casts of the
// fp32 master weights; everything autocast does not list stays fp32. Toggles
// the thread's AutocastCPU dispatch key directly (stable from libtorch 1.13 to
// 2.x; the CPU autocast dtype defaults to bf16 in both).
class CpuBf16Autocast {
 public:
  explicit CpuBf16Autocast(bool on) : was_on_(!c10::impl::tls_is_dispatch_key_excluded(c10::DispatchKey::AutocastCPU)) {
    c10::impl::tls_set_dispatch_key_excluded(c10::DispatchKey::AutocastCPU, !on);
  }
  ~CpuBf16Autocast() {
    c10::impl::tls_set_dispatch_key_excluded(c10::DispatchKey::AutocastCPU, !was_on_);
    if (!was_on_) at::autocast::clear_cache();
  }
  CpuBf16Autocast(const CpuBf16Autocast&) = delete;
  CpuBf16Autocast& operator=(const CpuBf16Autocast&) = delete;

 private:
  bool was_on_;
};

// Pairwise distances [B,N,N]; the tiny offset keeps the gradient of the zero
// diagonal finite and cancels between reconstruction and target.
at::Tensor distance_matrix(const at::Tensor& x) {
  auto d = x.unsqueeze(2) - x.unsqueeze(1);
  return (d.square().sum(-1) + 1e-12).sqrt();
}

// x [B,...] stacked `draws` times along the batch: [draws*B,...], draw-major
at::Tensor stacked(const at::Tensor& x, int64_t draws) {
  if (draws == 1 || !x.defined()) return x;
  std::vector<int64_t> reps(x.dim(), 1);
  reps[0] = draws;
  return x.repeat(reps);
}
}  // namespace

at::Tensor Model::noise_input(const at::Tensor& cg_level) const {
  if (!config_.noise_input || !cg_level.defined()) return {};
  return (cg_level.to(device_, at::kFloat) / kNoiseUnit).contiguous();
}

LossTerms Model::loss(const at::Tensor& aa_t_in, const at::Tensor& aa_prev_in, const at::Tensor& cg_t_in,
                      const at::Tensor& eps_in, const StepWeights& w, at::Tensor* total_out, const BatchExtras& extra) {
  const auto& cg_condition = extra.cg_condition;
  TORCH_CHECK(mapping_.defined(), "model has no CG mapping");
  auto aa_t = aa_t_in.to(device_, at::kFloat);
  auto aa_prev = aa_prev_in.to(device_, at::kFloat);
  auto cg_t = cg_t_in.to(device_, at::kFloat);
  auto eps = eps_in.to(device_, at::kFloat);
  // Each configuration is voxelized once: A(t) is both the target and an encoder
  // input, and A(t-1), C(t) feed both the encoder and the decoder's condition.
  const auto target = voxels(aa_t);
  auto v_prev = config_.previous_frame ? voxels(aa_prev) : at::Tensor();
  auto v_cg = voxels(cg_condition.defined() ? cg_condition.to(device_, at::kFloat) : cg_t);
  TORCH_CHECK(!w.bf16 || device_.is_cpu(), "bf16 training is implemented for the CPU only (device ", device_.str(), ")");
  const auto condition = config_.previous_frame ? at::cat({v_prev, v_cg}, 1) : v_cg;
  // the decoded frame of latent z, in the coordinates the targets are in
  // (z [draws*B,latent]: `draws` latents for each condition, draw-major)
  // (on_condition: the decoder's condition voxels, the posterior decode's by default)
  auto decode = [&](const at::Tensor& z, int64_t draws = 1, const at::Tensor& on_condition = {}) {
    at::Tensor density;
    {
      CpuBf16Autocast autocast(w.bf16);
      density = decoder_->forward(stacked(on_condition.defined() ? on_condition : condition, draws), z, nullptr,
                                  stacked(noise_input(extra.cg_level), draws));
    }
    auto coords = collapse(density, config_.width);
    return std::make_pair(density, config_.displacement ? coords + stacked(aa_prev, draws) : coords);
  };
  at::Tensor mu, logvar;
  {
    CpuBf16Autocast autocast(w.bf16);
    std::tie(mu, logvar) = encoder_->forward(encoder_input_of(target, v_prev, v_cg));
  }
  auto [density, coords] = decode(mu + eps * at::exp(0.5 * logvar));
  // Centred on their own means, the targets say nothing of where the decoded
  // frame sits: compare shapes, as the reference does.
  auto own_centre = [&](const at::Tensor& x) { return config_.centre_each ? x - x.mean(1, true) : x; };
  // Symmetric atoms renamed to the decoded frame (the encoder saw A(t) as it was:
  // renaming changes no configuration, only which label is compared with which).
  const bool renamed = sym_groups_.defined() && w.rename_symmetric;
  if (renamed) aa_t = renamed_target(aa_t, own_centre(coords));
  // what the decoder's density should be: A(t)'s (renamed), or the displacement's from A(t-1)
  const auto decoded_target = config_.displacement ? voxels(aa_t - aa_prev) : renamed ? voxels(aa_t) : target;

  // each sample's CG error: its decoded frame's beads against the CG frame [draws*B] (nm^2)
  auto cg_each = [&](const at::Tensor& x, int64_t draws, const at::Tensor& target) {
    return (own_centre(at::matmul(mapping_, x)) - stacked(target, draws)).square().mean({1, 2});
  };
  auto voxel = at::mse_loss(density, decoded_target);
  auto coord = at::mse_loss(own_centre(coords), aa_t);
  auto cg = cg_each(coords, 1, cg_t).mean();
  const auto d_decoded = distance_matrix(coords), d_target = distance_matrix(aa_t);
  auto edm = at::mse_loss(d_decoded, d_target);
  const auto kl_dims = (-0.5 * (1 + logvar - mu.square() - logvar.exp())).mean(0);  // [latent], nats
  auto kl = kl_dims.sum();
  const auto kl_trained = w.free_bits > 0 ? kl_dims.clamp_min(w.free_bits).sum() : kl;
  auto total = voxel + coord + w.cg_weight * cg + w.edm_weight * edm + w.beta * kl_trained;
  at::Tensor local;
  if (local_pairs_.defined()) {
    // bond lengths and 1-3 distances (angles) of the decoded frame against the target's, nm^2:
    // the distance matrices' entries at the local pairs
    const auto flat = local_pairs_.select(1, 0) * config_.atoms + local_pairs_.select(1, 1);
    const auto dd = d_decoded.flatten(1).index_select(1, flat), dt = d_target.flatten(1).index_select(1, flat);
    if (w.local_moments && dd.size(0) > 1) {
      // each distance's batch mean and spread against the targets': a systematic
      // error (a methyl umbrella closed) is penalised, the thermal part the network
      // cannot predict per frame is not pulled to its mean
      local = (dd.mean(0) - dt.mean(0)).square().mean() + (dd.std(0) - dt.std(0)).square().mean();
    } else {
      local = at::mse_loss(dd, dt);
    }
    if (w.local_weight > 0) total = total + w.local_weight * local;
  }

  // each sample's pair-floor violation, nm^2 (symmetric, zero diagonal: each pair counted twice, hence the half)
  auto floor_each = [&](const at::Tensor& d) { return 0.5 * at::relu(pair_floors_ - d).square().sum({1, 2}); };
  at::Tensor floor;
  if (pair_floors_.defined()) {
    floor = floor_each(d_decoded).mean();
    if (w.floor_weight > 0) total = total + w.floor_weight * floor;
  }

  // The clamp (paper: 1e5 kJ/mol for chignolin) is soft: exploding early
  // structures still get a finite, shrinking gradient.
  at::Tensor e_true;
  if (energy_) {
    at::NoGradGuard no_grad;
    e_true = energy_(aa_t, w.energy_clamp);
  }
  // each sample's energy error against its pair's reference energy e_ref (above: only the
  // excess over e_ref + margin counts; band: only the distance beyond margin either side;
  // margin one per sample)
  using Side = StepWeights::EnergySide;
  auto energy_each = [&](const at::Tensor& e_rec, const at::Tensor& e_ref, Side side = Side::both, const at::Tensor& margin = {},
                         double scale = -1) {
    if (scale < 0) scale = w.energy_scale;
    auto de = e_rec.to(at::kFloat) - e_ref.to(at::kFloat);
    if (side == Side::above) de = at::relu(de - margin);
    if (side == Side::band) de = at::relu(de.abs() - margin);
    if (w.energy_std > 0) {
      auto r = (de / w.energy_std).square();
      return w.energy_error_clamp > 0 ? r.clamp_max(w.energy_error_clamp) : r;
    }
    return scale > 0 ? at::log1p((de / scale).square()) : de.square();
  };
  at::Tensor energy = at::zeros({}, coords.options());
  if (energy_ && w.gamma > 0 && w.energy_terms) {
    TORCH_CHECK(term_energy_, "energyTerms needs the force field's term energies (setEnergy)");
    at::Tensor terms_true;
    {
      at::NoGradGuard no_grad;
      terms_true = term_energy_(aa_t);
    }
    const auto terms = term_energy_(coords);
    const double scale = w.energy_scale > 0 && w.energy_terms_scale > 0 ? w.energy_terms_scale : w.energy_scale;
    for (int64_t k = 0; k < terms.size(1); k++)
      energy = energy + energy_each(terms.select(1, k), terms_true.select(1, k), Side::both, {}, scale).mean();
    total = total + w.gamma * energy;
  } else if (energy_ && w.gamma > 0) {
    energy = energy_each(energy_(coords, w.energy_clamp), e_true).mean();
    total = total + w.gamma * energy;
  } else if (energy_) {
    at::NoGradGuard no_grad;  // reported, not trained on, while gamma is 0
    energy = energy_each(energy_(coords.detach(), w.energy_clamp), e_true).mean();
  }

  // The prior decode is no reconstruction (nothing says which frame its z is),
  // so only what every frame of this condition must satisfy is asked of it: the
  // beads, the pair floor, and (prior_energy) its energy against its pair's (both
  // frames of one condition, at one temperature; prior_energy_side: which side of
  // it counts, beyond a margin, its own for noisy conditions).
  at::Tensor prior;
  if (w.prior_weight > 0 && extra.eps_prior.defined()) {
    // the prior decode's own CG condition (undefined: the posterior decode's), and its CG target
    const auto prior_cg = extra.prior_cg_condition.defined() ? extra.prior_cg_condition.to(device_, at::kFloat) : at::Tensor();
    const auto prior_target = w.prior_follows_condition && prior_cg.defined() ? prior_cg - prior_cg.mean(1, true) : cg_t;
    // each sample's energy margin and CG weight: the noisy conditions' own, if they have them
    auto prior_margin = at::full({coords.size(0)}, w.prior_energy_margin, coords.options());
    auto prior_cg_weight = at::full({coords.size(0)}, w.cg_weight, coords.options());
    if (extra.prior_cg_level.defined()) {
      const auto noisy = extra.prior_cg_level.to(device_, at::kFloat).gt(0);
      if (w.prior_noisy_energy_margin) prior_margin = at::where(noisy, *w.prior_noisy_energy_margin, prior_margin);
      if (w.prior_noisy_cg_weight) prior_cg_weight = at::where(noisy, *w.prior_noisy_cg_weight, prior_cg_weight);
    }
    // each sample's loss, for `draws` per condition
    auto prior_each = [&](const at::Tensor& x, int64_t draws) {
      auto each = stacked(prior_cg_weight, draws) * cg_each(x, draws, prior_target);
      if (pair_floors_.defined() && w.floor_weight > 0) each = each + w.floor_weight * floor_each(distance_matrix(x));
      if (energy_ && w.gamma > 0 && w.prior_energy)
        each = each + w.gamma * energy_each(energy_(x, w.energy_clamp), stacked(e_true, draws), w.prior_energy_side, stacked(prior_margin, draws));
      return each;
    };
    auto z = extra.eps_prior.to(device_, at::kFloat);
    at::Tensor prior_condition;  // the posterior decode's, unless the prior decode has its own CG
    if (prior_cg.defined()) {
      auto v = voxels(prior_cg);
      prior_condition = config_.previous_frame ? at::cat({v_prev, v}, 1) : v;
    }
    const int64_t batch = coords.size(0), draws = z.size(0) / batch;
    TORCH_CHECK(draws >= 1 && z.size(0) == draws * batch, "eps_prior must be [draws*", batch, ", latent], got ", z.sizes());
    if (draws > 1) {
      // each condition's worst draw, found without a graph, is the one trained on:
      // the rare z a rollout draws between two rotor phases is found `draws` times as often
      at::NoGradGuard no_grad;
      // a draw at a time (kPriorDecodesAtOnce): in one batch of all of them the
      // step grew 7x from 8 draws to 32
      const int64_t per = std::max<int64_t>(1, kPriorDecodesAtOnce / batch);
      std::vector<at::Tensor> each;
      for (int64_t d0 = 0; d0 < draws; d0 += per) {
        const int64_t n = std::min(per, draws - d0);
        each.push_back(prior_each(decode(z.narrow(0, d0 * batch, n * batch), n, prior_condition).second, n));
      }
      const auto worst = at::cat(each).view({draws, batch}).argmax(0);
      z = z.view({draws, batch, -1}).index({worst, at::arange(batch, worst.options())});
    }
    prior = prior_each(decode(z, 1, prior_condition).second, 1).mean();
    total = total + w.prior_weight * prior;
  }

  LossTerms t;
  t.voxel = voxel.item<double>();
  t.coord = coord.item<double>();
  t.cg = cg.item<double>();
  t.edm = edm.item<double>();
  t.energy = energy.item<double>();
  t.kl = kl.item<double>();
  if (local.defined()) {
    t.local = local.item<double>();
    t.has_local = true;
  }
  if (floor.defined()) {
    t.floor = floor.item<double>();
    t.has_floor = true;
  }
  if (prior.defined()) {
    t.prior = prior.item<double>();
    t.has_prior = true;
  }
  t.total = total.item<double>();
  if (total_out) *total_out = total;
  return t;
}

LossTerms Model::train_step(const at::Tensor& aa_t, const at::Tensor& aa_prev, const at::Tensor& cg_t,
                            const at::Tensor& eps, const StepWeights& w, const BatchExtras& extra) {
  root_->train();
  optimizer_->zero_grad();
  at::Tensor total;
  auto terms = loss(aa_t, aa_prev, cg_t, eps, w, &total, extra);
  // Every rank reports (and checks) the whole global batch's terms, so all stop together.
  terms.stop = w.stop;
  if (reducer_) {
    std::vector<double> v{terms.total, terms.voxel, terms.coord, terms.cg, terms.edm, terms.energy, terms.kl, terms.local,
                          terms.floor, terms.prior, w.stop ? 1.0 : 0.0};
    reducer_->average_values(v);
    terms.total = v[0], terms.voxel = v[1], terms.coord = v[2], terms.cg = v[3], terms.edm = v[4], terms.energy = v[5],
    terms.kl = v[6], terms.local = v[7], terms.floor = v[8], terms.prior = v[9], terms.stop = v[10] > 0;
  }
  TORCH_CHECK(std::isfinite(terms.total), "training diverged: the loss is not finite (voxel ", terms.voxel, ", coord ",
              terms.coord, ", energy ", terms.energy, ", kl ", terms.kl, ")");
  total.backward();
  if (reducer_) {
    auto parameters = root_->parameters();
    reducer_->average_gradients(parameters);
  }
  const double max_norm = w.clip_norm > 0 ? w.clip_norm : std::numeric_limits<double>::infinity();
  terms.grad_norm = torch::nn::utils::clip_grad_norm_(root_->parameters(), max_norm);
  if (w.learning_rate > 0) {
    for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(w.learning_rate);
  }
  optimizer_->step();
  fast_.reset();
  return terms;
}

void Model::sync_weights() {
  if (!reducer_) return;
  auto parameters = root_->parameters();
  reducer_->broadcast(parameters);
  fast_.reset();
}

std::vector<std::pair<std::string, double>> Model::parameter_gradients(const at::Tensor& aa_t, const at::Tensor& aa_prev,
                                                                         const at::Tensor& cg_t, const at::Tensor& eps,
                                                                         const StepWeights& w) {
  root_->train();
  optimizer_->zero_grad();
  at::Tensor total;
  loss(aa_t, aa_prev, cg_t, eps, w, &total);
  total.backward();
  std::vector<std::pair<std::string, double>> out;
  for (const auto& item : root_->named_parameters()) {
    const auto& g = item.value().grad();
    out.emplace_back(item.key(), g.defined() ? g.norm().item<double>() : 0.0);
  }
  optimizer_->zero_grad();
  return out;
}

LossTerms Model::evaluate(const at::Tensor& aa_t, const at::Tensor& aa_prev, const at::Tensor& cg_t,
                          const at::Tensor& eps, const StepWeights& w, const BatchExtras& extra) {
  root_->eval();
  at::NoGradGuard no_grad;
  return loss(aa_t, aa_prev, cg_t, eps, w, nullptr, extra);
}

std::pair<at::Tensor, at::Tensor> Model::encode(const at::Tensor& aa_t, const at::Tensor& aa_prev,
                                                 const at::Tensor& cg_t) {
  root_->eval();
  c10::InferenceMode guard;
  auto out = encoder_->forward(encoder_input(aa_t.to(device_, at::kFloat), aa_prev.to(device_, at::kFloat),
                                             cg_t.to(device_, at::kFloat)));
  return {out.first.cpu(), out.second.cpu()};
}

const FastConvs* Model::fast_convs(bool wanted, bool bf16) {
  if (!wanted || !device_.is_cpu()) return nullptr;
  if (!fast_) {
    auto fast = std::make_shared<FastConvs>();
    const auto& d = *decoder_;
    fast->add(d.condition_stem);
    fast->add(d.latent_stem);
    fast->add(d.head);
    for (const auto* blocks : {&d.condition_blocks, &d.trunk})
      for (const auto& m : **blocks) {
        const auto* block = m->as<ResidualBlock>();
        fast->add(block->conv1);
        fast->add(block->conv2);
      }
    fast_ = std::move(fast);
    fast_bf16_ = std::make_shared<FastConvs>(*fast_);  // the same filters, bf16 products
    fast_bf16_->bf16 = true;
  }
  return bf16 ? fast_bf16_.get() : fast_.get();
}

at::Tensor Model::decode(const at::Tensor& aa_prev, const at::Tensor& cg_t, const at::Tensor& z, bool winograd,
                         double cg_noise) {
  root_->eval();
  c10::InferenceMode guard;
  const auto prev = aa_prev.to(device_, at::kFloat);
  auto density = decoder_->forward(condition_input(prev, cg_t.to(device_, at::kFloat)), z.to(device_, at::kFloat),
                                   fast_convs(winograd), noise_input(at::full({z.size(0)}, cg_noise, at::kFloat)));
  auto x = collapse(density, config_.width);
  return (config_.displacement ? x + prev : x).cpu();
}

namespace {
// bonds as an int64 CPU [E,2] tensor, each a pair of distinct atoms of N; `what` names the caller in errors.
at::Tensor checked_bonds(const at::Tensor& bonds_in, int64_t N, const char* what) {
  auto bonds = bonds_in.to(at::kCPU, at::kLong).contiguous();
  TORCH_CHECK(bonds.dim() == 2 && bonds.size(1) == 2, what, ": expected bonds [E, 2]");
  const auto b = bonds.accessor<int64_t, 2>();
  for (int64_t e = 0; e < bonds.size(0); ++e) {
    const int64_t i = b[e][0], j = b[e][1];
    TORCH_CHECK(i >= 0 && i < N && j >= 0 && j < N && i != j, what, ": bond ", e, " (", i, ", ", j,
                ") is not a pair of distinct atoms of ", N);
  }
  return bonds;
}
}  // namespace

void Model::set_cg_projection(const at::Tensor& bonds) {
  TORCH_CHECK(mapping_.defined(), "set_cg_projection: the model has no CG mapping");
  bonds_ = checked_bonds(bonds, config_.atoms, "set_cg_projection");
  projection_ = at::Tensor();
}

at::Tensor cg_projection(const at::Tensor& mapping, const at::Tensor& bonds_in) {
  const int64_t N = mapping.size(1);
  const auto bonds = checked_bonds(bonds_in, N, "cg_projection");
  // the bond graph's Laplacian, plus a ridge: atoms with no path to a bead stay put
  constexpr double kRidge = 1e-4;
  auto a = at::eye(N, at::kDouble) * kRidge;
  auto acc = a.accessor<double, 2>();
  const auto b = bonds.accessor<int64_t, 2>();
  for (int64_t e = 0; e < bonds.size(0); ++e) {
    const int64_t i = b[e][0], j = b[e][1];
    acc[i][i] += 1;
    acc[j][j] += 1;
    acc[i][j] -= 1;
    acc[j][i] -= 1;
  }
  auto mt = mapping.to(at::kCPU, at::kDouble).t().contiguous();  // [N, n]
  auto x = at::linalg_solve(a, mt);                               // A^-1 M^T
  auto s = at::matmul(mt.t(), x);                                 // M A^-1 M^T, symmetric
  // P = A^-1 M^T (M A^-1 M^T)^-1
  return at::linalg_solve(s, x.t()).t().contiguous();
}

const at::Tensor& Model::projection() {
  if (projection_.defined()) return projection_;
  TORCH_CHECK(bonds_.defined(), "rollout: project needs set_cg_projection first");
  projection_ = cg_projection(mapping_, bonds_).to(device_, at::kFloat).contiguous();
  return projection_;
}

// From float64 SVDs of the 3x3 covariances on x's device; where V U^T would be a
// reflection the weakest axis is flipped, so det R = +1.
at::Tensor kabsch_rotations(const at::Tensor& x, const at::Tensor& reference) {
  auto h = at::matmul(x.to(at::kDouble).transpose(-1, -2), reference);  // sum_i x_i reference_i^T = U S V^T
  auto [u, s, vh] = at::linalg_svd(h);
  auto v = vh.transpose(-1, -2);
  auto d = at::sign(at::linalg_det(v) * at::linalg_det(u));  // +-1: U and V are orthogonal
  auto flip = at::cat({at::ones_like(s.narrow(-1, 0, 2)), d.unsqueeze(-1)}, -1);
  return at::matmul(v * flip.unsqueeze(-2), u.transpose(-1, -2)).to(at::kFloat);  // V diag(1, 1, d) U^T
}

at::Tensor Model::rollout_lockstep(at::Tensor prev, const at::Tensor& cg, const at::Tensor& z, const FastConvs* fast,
                                   const at::Tensor& projection, bool bf16, const StepHook* hook, int64_t first,
                                   double cg_noise) {
  const auto noise = noise_input(at::full({prev.size(0)}, cg_noise, at::kFloat));
  // The decoder alone under autocast: coordinates, rotations and collapse stay fp32.
  auto decode = [&](const at::Tensor& input, const at::Tensor& zt) {
    CpuBf16Autocast autocast(bf16);
    return decoder_->forward(input, zt, fast, noise).to(at::kFloat);
  };
  auto centres = cg.mean(2, /*keepdim=*/true);  // [T,K,1,3]
  auto cg_centred = cg - centres;
  // Canonical orientation: R [T,K,3,3] of every step at once (C(t) alone decides it).
  // Points are rows, so x R^T turns a centred configuration into the network's frame and y R turns it back.
  const at::Tensor rot = canonical_.defined() ? kabsch_rotations(cg_centred, canonical_) : at::Tensor();
  auto into = [&](const at::Tensor& x, int64_t t) { return rot.defined() ? at::matmul(x, rot[t].transpose(-1, -2)) : x; };
  auto back = [&](const at::Tensor& y, int64_t t) { return rot.defined() ? at::matmul(y, rot[t]) : y; };
  std::vector<at::Tensor> out;
  out.reserve(cg.size(0));
  for (int64_t t = 0; t < cg.size(0); ++t) {
    const auto previous = prev;
    auto c = centres[t];
    const auto cg_t = into(cg_centred[t], t);
    // A(t-1) as the network sees it; with `displacement` the frame is it plus the collapse
    const auto seen = into(config_.centre_each ? prev - prev.mean(1, true) : prev - c, t);
    auto x = collapse(decode(condition_input(seen, cg_t), z[t]), config_.width);
    if (config_.displacement) x = x + seen;
    x = back(x, t);
    prev = config_.centre_each ? x - at::matmul(mapping_, x).mean(1, true) + c : x + c;
    if (projection.defined()) prev = prev + at::matmul(projection, cg[t] - at::matmul(mapping_, prev));
    if (hook) prev = (*hook)(prev, previous, cg[t], t, first);
    out.push_back(prev);
  }
  return at::stack(out);
}

at::Tensor Model::rollout(const at::Tensor& prev_in, const at::Tensor& cg_in, const at::Tensor& z_in, bool winograd,
                          bool project, bool bf16, const StepHook* hook, double cg_noise) {
  root_->eval();
  c10::InferenceMode guard;
  TORCH_CHECK(!bf16 || device_.is_cpu(), "a bf16 rollout is implemented for the CPU only (device ", device_.str(), ")");
  // bf16: Winograd with bf16 products where the CPU has AVX512-BF16, else oneDNN's
  // bf16 convolutions under autocast.
  const bool autocast = bf16 && !(winograd && winograd_bf16_supported());
  const auto* fast = autocast ? nullptr : fast_convs(winograd, bf16);
  TORCH_CHECK(cg_in.dim() == 4 && prev_in.dim() == 3 && z_in.dim() == 3, "rollout: expected prev [K,N,3], cg [T,K,n,3], z [T,K,latent]");
  auto cg = cg_in.to(device_, at::kFloat);
  auto z = z_in.to(device_, at::kFloat);
  auto prev = prev_in.to(device_, at::kFloat);
  const at::Tensor projection = project ? this->projection() : at::Tensor();
  const int64_t K = prev.size(0);
  // oneDNN's bf16 convolutions want the batch whole (they parallelise inside)
  TORCH_CHECK(std::isfinite(cg_noise) && cg_noise >= 0, "rollout: the CG noise level must be >= 0 nm, got ", cg_noise);
  if (autocast) return rollout_lockstep(prev, cg, z, nullptr, projection, true, hook, 0, cg_noise);
  if (!device_.is_cpu()) return rollout_lockstep(prev, cg, z, fast, projection, false, hook, 0, cg_noise).cpu();
  // On CPU a decoder step on one or two frames keeps its activations in cache,
  // while a batch of K streams them through memory at every elementwise op: the
  // trajectories, which are independent, go in small groups, the threads taking
  // whole groups (ops inside a group then run on the calling thread). A small
  // decoder's step is too short to share between threads at all: one frame per
  // group, and a lone group runs on one thread.
  const bool small = decoder_flops() < kSharedStepFlops;
  const int64_t group = small ? 1 : kCpuRolloutBatch;
  if (K <= group) {
    // a lone group of a small decoder on this thread alone; the thread count comes back even if it throws
    struct OneThread {
      int threads = at::get_num_threads();
      explicit OneThread(bool on) {
        if (!on || threads == 1) threads = 0;
        else at::set_num_threads(1);
      }
      ~OneThread() {
        if (threads > 0) at::set_num_threads(threads);
      }
    } one_thread(small);
    return rollout_lockstep(prev, cg, z, fast, projection, false, hook, 0, cg_noise);
  }
  const int64_t groups = (K + group - 1) / group;
  std::vector<at::Tensor> out(groups);
  at::parallel_for(0, groups, 1, [&](int64_t g0, int64_t g1) {
    c10::InferenceMode thread_guard;  // thread-local: the pool's threads need their own
    for (int64_t g = g0; g < g1; ++g) {
      const int64_t k0 = g * group, k = std::min(group, K - k0);
      out[g] = rollout_lockstep(prev.narrow(0, k0, k), cg.narrow(1, k0, k), z.narrow(1, k0, k), fast, projection, false,
                                hook, k0, cg_noise);
    }
  });
  return at::cat(out, 1);
}

double Model::decoder_flops() const {
  const double known = decoder_flops_.load(std::memory_order_relaxed);
  if (known >= 0) return known;
  const double voxels = double(config_.grid) * config_.grid * config_.grid;
  double flops = 0;
  for (const auto& m : decoder_->modules(/*include_self=*/false)) {
    const auto* conv = m->as<torch::nn::Conv3d>();
    if (!conv) continue;
    const auto& o = conv->options;
    const auto& k = *o.kernel_size();
    const auto& st = *o.stride();
    flops += 2.0 * o.in_channels() * o.out_channels() * k[0] * k[1] * k[2] * voxels / double(st[0] * st[1] * st[2]);
  }
  decoder_flops_.store(flops, std::memory_order_relaxed);
  return flops;
}

namespace {
void put_blob(std::string& out, const std::string& blob) {
  const uint64_t n = blob.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(blob);
}

std::string take_blob(const std::string& in, size_t& pos) {
  uint64_t n = 0;
  TORCH_CHECK(pos + sizeof n <= in.size(), "model weights are truncated");
  std::memcpy(&n, in.data() + pos, sizeof n);
  pos += sizeof n;
  TORCH_CHECK(n <= in.size() - pos, "model weights are truncated");
  std::string blob = in.substr(pos, n);
  pos += n;
  return blob;
}
}  // namespace

std::string Model::save(bool with_optimizer) {
  std::string out;
  std::ostringstream weights;
  torch::save(std::dynamic_pointer_cast<torch::nn::Module>(root_), weights);
  put_blob(out, weights.str());
  if (with_optimizer) {
    std::ostringstream optim;
    torch::save(*optimizer_, optim);
    put_blob(out, optim.str());
  }
  return out;
}

void Model::load(const std::string& bytes, bool with_optimizer) {
  fast_.reset();
  size_t pos = 0;
  std::istringstream weights(take_blob(bytes, pos));
  auto module = std::dynamic_pointer_cast<torch::nn::Module>(root_);
  if (!config_.noise_input || with_optimizer) {
    torch::load(module, weights, device_);
  } else {
    // Weights of a model without the noise input (a warm start that adds it):
    // read into that architecture, copy every parameter they share; the noise
    // input keeps its silent start.
    torch::serialize::InputArchive archive;
    archive.load_from(weights, device_);
    try {
      module->load(archive);
    } catch (const c10::Error&) {
      auto plain_config = config_;
      plain_config.noise_input = false;
      auto plain = std::make_shared<CvaeImpl>(plain_config);
      plain->load(archive);
      plain->to(device_);
      torch::NoGradGuard no_grad;
      auto mine = root_->named_parameters();
      for (const auto& item : plain->named_parameters()) mine[item.key()].copy_(item.value());
    }
  }
  if (with_optimizer) {
    std::istringstream optim(take_blob(bytes, pos));
    torch::load(*optimizer_, optim, device_);
  }
}

void Model::reset_optimizer() {
  const double lr = static_cast<torch::optim::AdamOptions&>(optimizer_->param_groups().front().options()).lr();
  optimizer_ = std::make_unique<torch::optim::Adam>(root_->parameters(), torch::optim::AdamOptions(lr));
}

}  // namespace tcbm
