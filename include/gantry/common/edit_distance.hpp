#pragma once
// Edit distance for "did you mean" suggestions on user input (pipeline
// directives, config keys). Pure function; bounded: strings longer than 100
// bytes get the longer length, so hostile input cannot make it quadratic.

#include <cstddef>
#include <string_view>

namespace gantry {

// Optimal string alignment distance: Levenshtein plus adjacent
// transpositions, the commonest typo ("stpes", "lsiten").
size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace gantry
