#include "hpcnas/search/asha.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace hpcnas::search {
namespace {
constexpr const char* kStateMagic = "hpcnas-asha-v1";
} // namespace

std::vector<int> asha_rungs(int min_epochs, int max_epochs, int eta) {
  if (min_epochs < 1 || max_epochs < min_epochs || eta < 2)
    throw std::invalid_argument("asha: need 1 <= min epochs <= max epochs and eta >= 2");
  std::vector<int> rungs;
  for (long long epochs = min_epochs; epochs < max_epochs; epochs *= eta)
    rungs.push_back(static_cast<int>(epochs));
  rungs.push_back(max_epochs);
  return rungs;
}

AshaScheduler::AshaScheduler(std::vector<int> rungs, int eta, space::SearchSpace space)
    : rungs_(std::move(rungs)), eta_(eta), space_(space), members_(rungs_.size()) {
  if (rungs_.empty() || eta_ < 2)
    throw std::invalid_argument("asha: need at least one rung and eta >= 2");
}

std::optional<Promotion> AshaScheduler::promote() {
  for (int rung = static_cast<int>(rungs_.size()) - 2; rung >= 0; --rung) {
    std::vector<Member>& members = members_[static_cast<std::size_t>(rung)];
    const std::size_t top = members.size() / static_cast<std::size_t>(eta_);
    if (top == 0)
      continue;
    std::vector<std::size_t> order(members.size());
    for (std::size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    // Failed results last; among the rest the higher reward first; ties to the older result.
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      if (members[a].ok != members[b].ok)
        return members[a].ok;
      return members[a].reward > members[b].reward;
    });
    for (std::size_t i = 0; i < top; ++i) {
      Member& m = members[order[i]];
      if (!m.ok)
        break;
      if (!m.promoted) {
        m.promoted = true;
        return Promotion{m.id, m.genotype, rung + 1};
      }
    }
  }
  return std::nullopt;
}

void AshaScheduler::record(std::int64_t id, const space::Architecture& genotype, int rung,
                           double reward, bool ok) {
  if (rung < 0 || rung >= static_cast<int>(rungs_.size()))
    throw std::out_of_range("asha: no rung " + std::to_string(rung));
  members_[static_cast<std::size_t>(rung)].push_back({id, genotype, reward, ok, false});
}

std::string AshaScheduler::save_state() const {
  std::ostringstream out;
  out.precision(17);
  out << kStateMagic << '\n' << eta_ << ' ' << rungs_.size();
  for (int r : rungs_)
    out << ' ' << r;
  out << '\n';
  for (const auto& members : members_) {
    out << members.size() << '\n';
    for (const Member& m : members) {
      out << m.id << ' ' << m.reward << ' ' << m.ok << ' ' << m.promoted << ' ';
      for (int v : m.genotype.encode())
        out << v << ',';
      out << '\n';
    }
  }
  return out.str();
}

void AshaScheduler::load_state(const std::string& state) {
  std::istringstream in(state);
  auto fail = [](const std::string& what) {
    throw std::runtime_error("asha scheduler state: " + what);
  };
  std::string magic;
  in >> magic;
  if (magic != kStateMagic)
    fail("not an ASHA state");
  int eta = 0;
  std::size_t count = 0;
  in >> eta >> count;
  std::vector<int> rungs(count);
  for (int& r : rungs)
    in >> r;
  if (!in || eta != eta_ || rungs != rungs_)
    fail("written for other rungs or another eta");
  std::vector<std::vector<Member>> members(rungs_.size());
  for (auto& rung : members) {
    std::size_t n = 0;
    in >> n;
    if (!in || n > (std::size_t{1} << 32))
      fail("damaged rung size");
    rung.resize(n);
    for (Member& m : rung) {
      std::string encoding;
      in >> m.id >> m.reward >> m.ok >> m.promoted >> encoding;
      if (!in)
        fail("damaged member");
      try {
        std::vector<int> values;
        std::istringstream fields(encoding);
        for (std::string v; std::getline(fields, v, ',');)
          values.push_back(std::stoi(v));
        m.genotype = space_.decode(values);
      } catch (const std::exception& e) {
        fail(std::string("damaged genotype: ") + e.what());
      }
    }
  }
  members_ = std::move(members);
}

} // namespace hpcnas::search
