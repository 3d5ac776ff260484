#pragma once

#include <string>
#include <vector>

namespace icaht::ctl {

enum class Align : bool { kLeft, kRight };

// Renders rows (the first one usually the column names) as aligned columns two spaces apart,
// one line each, trailing spaces trimmed. `align` gives each column's alignment (missing
// entries: left). Every row must have the same number of cells.
std::string AlignColumns(const std::vector<std::vector<std::string>>& rows,
                         const std::vector<Align>& align = {});

}  // namespace icaht::ctl
