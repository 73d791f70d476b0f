#include "hpcnas/space/genotype.hpp"

#include <sstream>

#include "text_cursor.hpp"

namespace hpcnas::space {
namespace {

constexpr std::array<std::string_view, kSupernetOps> kOpNames = {
    "none",         "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5"};

/// Number of states node i may read: the two cell inputs and the i earlier nodes.
constexpr int inputs_of_node(int node) { return node + 2; }

void validate_cell(const Cell& cell, const char* which) {
  for (int e = 0; e < kEdgesPerCell; ++e) {
    const Edge& edge = cell.edges[e];
    const int node = e / 2;
    if (edge.op == Op::kNone)
      throw SpaceError(std::string(which) + " edge " + std::to_string(e) +
                       ": 'none' is only allowed in a supernet");
    if (edge.input < 0 || edge.input >= inputs_of_node(node))
      throw SpaceError(std::string(which) + " edge " + std::to_string(e) + ": input " +
                       std::to_string(edge.input) + " is not an earlier state of node " +
                       std::to_string(node) + " (allowed 0.." +
                       std::to_string(inputs_of_node(node) - 1) + ")");
  }
}

/// Recursive-descent parser over the DARTS text; every error names the character offset.
class Parser {
public:
  explicit Parser(std::string_view text) : in_(text) {}

  Genotype parse() {
    Genotype g;
    in_.expect_word("Genotype");
    in_.expect('(');
    for (int field = 0; field < 4; ++field) {
      if (field > 0)
        in_.expect(',');
      const std::string name = in_.identifier();
      in_.expect('=');
      if (name == "normal" || name == "reduce") {
        Cell& cell = name == "normal" ? g.normal : g.reduce;
        if (name == "normal" ? seen_normal_ : seen_reduce_)
          in_.fail("'" + name + "' given twice");
        (name == "normal" ? seen_normal_ : seen_reduce_) = true;
        edges(cell, name);
      } else if (name == "normal_concat" || name == "reduce_concat") {
        // The concat of this space is always the 4 intermediate nodes.
        if (in_.integer_list_or_range() != std::vector<int>{2, 3, 4, 5})
          in_.fail("'" + name + "' must be [2, 3, 4, 5]: the output concatenates all 4 nodes");
      } else {
        in_.fail("unknown field '" + name + "'");
      }
    }
    if (!seen_normal_ || !seen_reduce_)
      in_.fail("both 'normal' and 'reduce' are required");
    in_.expect(')');
    in_.expect_end();
    validate_cell(g.normal, "normal");
    validate_cell(g.reduce, "reduce");
    return g;
  }

private:
  void edges(Cell& cell, const std::string& name) {
    in_.expect('[');
    for (int e = 0; e < kEdgesPerCell; ++e) {
      if (e > 0 && in_.peek(']'))
        in_.fail("'" + name + "' has " + std::to_string(e) + " edges, it must have exactly " +
                 std::to_string(kEdgesPerCell));
      if (e > 0)
        in_.expect(',');
      in_.expect('(');
      const std::size_t op_pos = in_.position();
      const std::string op = in_.quoted();
      try {
        cell.edges[e].op = op_from_name(op);
      } catch (const SpaceError& err) {
        in_.rewind_to(op_pos);
        in_.fail(err.what());
      }
      in_.expect(',');
      cell.edges[e].input = in_.integer();
      in_.expect(')');
    }
    if (!in_.peek(']'))
      in_.fail("'" + name + "' must have exactly " + std::to_string(kEdgesPerCell) +
               " edges (2 per node, " + std::to_string(kNodes) + " nodes)");
    in_.expect(']');
  }

  detail::TextCursor in_;
  bool seen_normal_ = false;
  bool seen_reduce_ = false;
};

void print_cell(std::ostringstream& out, const Cell& cell) {
  out << '[';
  for (int e = 0; e < kEdgesPerCell; ++e) {
    if (e > 0)
      out << ", ";
    out << "('" << op_name(cell.edges[e].op) << "', " << cell.edges[e].input << ')';
  }
  out << ']';
}

} // namespace

std::string_view op_name(Op op) { return kOpNames.at(static_cast<std::size_t>(op)); }

Op op_from_name(std::string_view name) {
  return static_cast<Op>(detail::index_of_name(kOpNames, name, "operation"));
}

Op candidate_op(int i) {
  if (i < 0 || i >= kCandidateOps)
    throw SpaceError("candidate op index " + std::to_string(i) + " out of range");
  return static_cast<Op>(i + 1);
}

std::vector<int> Genotype::encode() const {
  std::vector<int> code;
  code.reserve(kEncodingLength);
  for (const Cell* cell : {&normal, &reduce})
    for (const Edge& e : cell->edges) {
      code.push_back(e.input);
      code.push_back(static_cast<int>(e.op) - 1);
    }
  return code;
}

Genotype Genotype::decode(const std::vector<int>& code) {
  if (code.size() != static_cast<std::size_t>(kEncodingLength))
    throw SpaceError("genotype encoding has " + std::to_string(code.size()) + " values, expected " +
                     std::to_string(kEncodingLength));
  Genotype g;
  std::size_t pos = 0;
  for (Cell* cell : {&g.normal, &g.reduce})
    for (Edge& e : cell->edges) {
      e.input = code[pos++];
      const int op = code[pos++];
      if (op < 0 || op >= kCandidateOps)
        throw SpaceError("genotype encoding position " + std::to_string(pos - 1) + ": op index " +
                         std::to_string(op) + " out of range 0.." +
                         std::to_string(kCandidateOps - 1));
      e.op = candidate_op(op);
    }
  g.validate();
  return g;
}

std::string Genotype::to_string() const {
  std::ostringstream out;
  out << "Genotype(normal=";
  print_cell(out, normal);
  out << ", normal_concat=[2, 3, 4, 5], reduce=";
  print_cell(out, reduce);
  out << ", reduce_concat=[2, 3, 4, 5])";
  return out.str();
}

Genotype Genotype::parse(std::string_view text) { return Parser(text).parse(); }

void Genotype::validate() const {
  validate_cell(normal, "normal");
  validate_cell(reduce, "reduce");
}

Genotype darts_v2() {
  return Genotype::parse(
      "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
      "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
      "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
      "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
      "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
      "reduce_concat=[2, 3, 4, 5])");
}

Genotype sample_genotype(std::mt19937_64& rng) {
  Genotype g;
  std::uniform_int_distribution<int> op_dist(0, kCandidateOps - 1);
  for (Cell* cell : {&g.normal, &g.reduce})
    for (int e = 0; e < kEdgesPerCell; ++e) {
      std::uniform_int_distribution<int> input_dist(0, inputs_of_node(e / 2) - 1);
      cell->edges[e].input = input_dist(rng);
      cell->edges[e].op = candidate_op(op_dist(rng));
    }
  return g;
}

Genotype mutate(const Genotype& parent, std::mt19937_64& rng) {
  Genotype child = parent;
  std::uniform_int_distribution<int> cell_dist(0, 1);
  std::uniform_int_distribution<int> edge_dist(0, kEdgesPerCell - 1);
  Cell& cell = cell_dist(rng) == 0 ? child.normal : child.reduce;
  const int e = edge_dist(rng);
  Edge& edge = cell.edges[e];
  // Node 0 has only two inputs; every edge has 7 ops, so an op mutation is always possible.
  const bool mutate_input = std::uniform_int_distribution<int>(0, 1)(rng) == 1;
  if (mutate_input) {
    // Draw among the other inputs so the child always differs from its parent.
    const int choices = inputs_of_node(e / 2) - 1;
    const int pick = std::uniform_int_distribution<int>(0, choices - 1)(rng);
    edge.input = pick < edge.input ? pick : pick + 1;
  } else {
    const int current = static_cast<int>(edge.op) - 1;
    const int pick = std::uniform_int_distribution<int>(0, kCandidateOps - 2)(rng);
    edge.op = candidate_op(pick < current ? pick : pick + 1);
  }
  return child;
}

} // namespace hpcnas::space
