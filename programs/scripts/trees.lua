-- The lua5.4 program's work: binary trees (build, check, drop, beside a
-- long-lived tree) and string building (concatenation, table.concat, gsub,
-- string.format). Prints only deterministic results. Usage: trees.lua SCALE
local scale = tonumber(arg[1]) or 1

local function bottom_up(depth)
  if depth == 0 then return {} end
  depth = depth - 1
  return { bottom_up(depth), bottom_up(depth) }
end

local function check(tree)
  if tree[1] then return 1 + check(tree[1]) + check(tree[2]) end
  return 1
end

local function trees(max_depth)
  local long_lived = bottom_up(max_depth)
  local total = 0
  for depth = 4, max_depth, 2 do
    local iterations = 1 << (max_depth - depth + 4)
    local sum = 0
    for _ = 1, iterations do sum = sum + check(bottom_up(depth)) end
    total = total + sum
  end
  return total, check(long_lived)
end

local function strings(n)
  local parts = {}
  for i = 1, n do
    parts[#parts + 1] = string.format("%d:%s;", i, string.rep("xy", i % 13))
  end
  local text = table.concat(parts)
  local replaced, count = text:gsub("(%d+):(x)", "%2%1")
  local acc = ""
  for i = 1, n // 10 do acc = acc .. tostring(i % 10) end
  local words = 0
  for _ in replaced:gmatch("[^;]+") do words = words + 1 end
  return #text, count, #acc, words
end

for round = 1, scale do
  print("round", round, trees(12))
  print("strings", strings(40000))
end
