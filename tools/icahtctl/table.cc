#include "table.h"

#include <algorithm>

#include "text.h"

namespace icaht::ctl {

std::string AlignColumns(const std::vector<std::vector<std::string>>& rows,
                         const std::vector<Align>& align) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      size_t pad = width[c] - row[c].size();
      bool right = c < align.size() && align[c] == Align::kRight;
      if (right) line.append(pad, ' ');
      line.append(row[c]);
      if (c + 1 < row.size()) line.append(right ? 2 : pad + 2, ' ');
    }
    out.append(StripTrailingSpace(line));
    out.push_back('\n');
  }
  return out;
}

}  // namespace icaht::ctl
