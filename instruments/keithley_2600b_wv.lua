-- labctl write-verify (ISPP) for a Keithley 2600B: one cell per call, run inside the instrument.
-- Loaded once as the named script labctl_wv; labctl_wv.run() defines labctl_cell. The rules are those of
-- labctl's protocols/_ispp.py (CellProgram.observe), step for step.
--
-- labctl_cell{drive = smua, bias = smub, kbias = 0.5, vread = 0.1, target = ..., lo = ..., hi = ...,
--             vmax = ..., wmin = ..., wmax = ..., <IsppSettings fields>, start_set = ..., start_reset = ...}
-- drive/bias: the channels feeding the selected row and the other lines (bias at kbias x the pulse amplitude,
-- at the read voltage during the equipotential verify read, which uses the same relays). Prints one line:
--   status,g,npulses,pol,amp,over_set;v,w,t,...;i,t,...
-- (pulses: volts, width, start time; reads: current, time; times relative to the call).

local function give_up(s, st)
  local moved = math.huge
  if st.g_lo > 0 then moved = st.g_hi / st.g_lo - 1 end
  if moved <= s.stuck_rel then return "stuck" end
  return "failed"
end

local function bound(st, tbl, pol, amp, pick_min)
  local old = tbl[pol]
  if old == nil then
    tbl[pol] = amp
  elseif pick_min then
    tbl[pol] = math.min(old, amp)
  else
    tbl[pol] = math.max(old, amp)
  end
  local lo, hi = st.short[pol], st.over[pol]
  if lo ~= nil and hi ~= nil and lo >= hi then  -- contradicting history (noise): forget the stale side
    if pick_min then st.short[pol] = nil else st.over[pol] = nil end
  end
end

-- One verify reading g (S): returns the next pulse (signed volts, width), or nil with st.status final.
function labctl_observe(s, st, g)
  st.g = g
  if g == g then
    st.g_lo = math.min(st.g_lo, g)
    st.g_hi = math.max(st.g_hi, g)
  end
  if st.lo <= g and g <= st.hi then
    st.status = "converged"
    return nil
  end
  if st.pulses >= s.max_pulses then
    st.status = give_up(s, st)
    return nil
  end
  local want = -1
  if g < st.lo then want = 1 end
  local start, cap, bis = st.start[want], s.reset_cap, s.bisect_reset
  if want == 1 then cap, bis = s.set_cap, s.bisect_set end
  if want ~= st.pol then
    if st.pol ~= 0 then  -- the last pulse overshot
      bound(st, st.over, st.pol, st.amp, true)
      st.reversals = st.reversals + 1
      if st.reversals > s.max_reversals then
        st.status = give_up(s, st)
        return nil
      end
    end
    st.pol, st.width, st.at_cap = want, s.width, 0
    local lo, hi = st.short[want], st.over[want]
    if hi == nil then
      if lo == nil then st.amp = start else st.amp = math.min(cap, lo + st.step[want]) end
    elseif not bis then
      st.amp = hi
    elseif lo == nil then
      st.amp = math.max(0.5 * start, hi - st.step[want] * 2 ^ st.descents[want])
      st.descents[want] = st.descents[want] + 1
    else
      st.amp = 0.5 * (lo + hi)
    end
  else  -- the last pulse fell short
    bound(st, st.short, want, st.amp, false)
    local hi = nil
    if bis then hi = st.over[want] end
    local nxt = math.min(st.amp + st.step[want], cap)
    if hi ~= nil then
      if hi - st.amp >= s.min_step then nxt = math.min(nxt, 0.5 * (st.amp + hi)) else nxt = st.amp end
    end
    if nxt - st.amp < 0.5 * s.min_step then  -- at the cap or against a known overshoot
      st.at_cap = st.at_cap + 1
      if st.at_cap > s.max_at_cap then
        st.status = give_up(s, st)
        return nil
      end
      st.width = math.min(st.width * s.width_growth, s.width_max)
    end
    st.amp = nxt
  end
  st.pulses = st.pulses + 1
  return want * st.amp, st.width
end

function labctl_state(s)
  return {g = 0 / 0, g_lo = math.huge, g_hi = -math.huge, lo = s.lo, hi = s.hi, pol = 0, amp = 0,
          width = s.width, at_cap = 0, reversals = 0, pulses = 0, status = "pending",
          start = {[1] = s.start_set or s.set_start, [-1] = s.start_reset or s.reset_start},
          step = {[1] = s.set_step, [-1] = s.reset_step}, short = {}, over = {}, descents = {[1] = 0, [-1] = 0}}
end

local function fmt(x)
  if x == nil then return "nan" end
  return string.format("%.9g", x)
end

-- One cell's loop; returns its reply line, the loop state and the status.
function labctl_run_cell(s)
  local drive, bias, vread = s.drive, s.bias, s.vread
  local st = labctl_state(s)
  local pulses, reads = {}, {}
  if not s.keep_timer then timer.reset() end
  drive.source.levelv = 0
  bias.source.levelv = 0
  drive.source.output = drive.OUTPUT_ON
  bias.source.output = bias.OUTPUT_ON
  local function verify()
    drive.source.levelv = vread
    bias.source.levelv = vread
    local i = drive.measure.i()
    drive.source.levelv = 0
    bias.source.levelv = 0
    reads[#reads + 1] = fmt(i)
    reads[#reads + 1] = fmt(timer.measure.t())
    return i / vread
  end
  local errors = errorqueue.count
  local g = verify()
  local status = "pending"
  while true do
    local v, w = labctl_observe(s, st, g)
    if v == nil then status = st.status break end
    if math.abs(v) > s.vmax or w < s.wmin or w > s.wmax then  -- the host's limits, checked again here
      status = "limit"
      break
    end
    pulses[#pulses + 1] = fmt(v)
    pulses[#pulses + 1] = fmt(w)
    pulses[#pulses + 1] = fmt(timer.measure.t())
    drive.source.levelv = v
    bias.source.levelv = s.kbias * v
    if errorqueue.count > errors then  -- the instrument refused a level: no pulse
      status = "error"
      break
    end
    delay(w)
    drive.source.levelv = 0
    bias.source.levelv = 0
    g = verify()
  end
  drive.source.levelv = 0
  bias.source.levelv = 0
  drive.source.output = drive.OUTPUT_OFF
  bias.source.output = bias.OUTPUT_OFF
  return status .. "," .. fmt(g) .. "," .. st.pulses .. "," .. st.pol .. "," .. fmt(st.amp) .. "," ..
         fmt(st.over[1]) .. ";" .. table.concat(pulses, ",") .. ";" .. table.concat(reads, ","), st, status
end

function labctl_cell(s)
  local line = labctl_run_cell(s)
  print(line)
end

-- Warm start (labctl's protocols/program.py _WarmStart): the first RESET amplitude of a cell is the median of the
-- last `keep` final RESET amplitudes of converged cells with the same target, the first SET amplitude the median
-- of the last SET amplitudes that overshot, each `back` steps lower, within [min_step, cap].
local function median(t)
  local c = {}
  for k = 1, #t do c[k] = t[k] end
  table.sort(c)
  local n = #c
  if n % 2 == 1 then return c[(n + 1) / 2] end
  return 0.5 * (c[n / 2] + c[n / 2 + 1])
end

local function push(t, v, keep)
  t[#t + 1] = v
  if #t > keep then table.remove(t, 1) end
end

-- The first amplitudes of a cell with target key `key` from the warm-start memory (nil: the settings' own).
local function starts(s, warm, key)
  if warm == nil then return nil, nil end
  local set, reset = nil, nil
  local r = warm.reset[key]
  if r ~= nil and #r > 0 then
    reset = math.min(math.max(median(r) - warm.back * s.reset_step, s.min_step), s.reset_cap)
  end
  if #warm.set > 0 then
    set = math.min(math.max(median(warm.set) - warm.back * s.set_step, s.min_step), s.set_cap)
  end
  return set, reset
end

-- What a finished cell teaches the warm-start memory.
local function learn(warm, key, st, status)
  if warm ~= nil and status == "converged" and st.pulses > 0 then
    if st.pol == -1 then
      if warm.reset[key] == nil then warm.reset[key] = {} end
      push(warm.reset[key], st.amp, warm.keep)
    end
    if st.over[1] ~= nil then push(warm.set, st.over[1], warm.keep) end
  end
end

-- A batch of cells of one row: per cell, its relays move on the TSP-Link matrix nodes (outputs are off between
-- cells), then its loop runs. Prints the cells' reply lines joined by "|"; stops after a cell that hit a limit.
-- cells[k] = {route = {{node, closed list}, ...}, lo = , hi = , key = target key}; warm = nil or
-- {keep = , back = , reset = {[key] = {amps}}, set = {amps}}.
-- A move is one channel.exclusiveclose of the node's whole closed set with its connect rule OFF: the opens and
-- closes move at once and settle once (cold switching: both outputs are off while relays move). Each node's
-- connect rule is restored after the batch.
function labctl_row(s, cells, warm)
  local out = {}
  local rules = {}
  timer.reset()  -- every time of the batch is relative to the call
  s.keep_timer = true
  for k = 1, #cells do for _, m in ipairs(cells[k].route) do
    local ch = node[m[1]].channel
    if rules[m[1]] == nil then rules[m[1]], ch.connectrule = ch.connectrule, ch.OFF end
  end end
  for k = 1, #cells do
    local c = cells[k]
    for _, m in ipairs(c.route) do node[m[1]].channel.exclusiveclose(m[2]) end
    s.lo, s.hi = c.lo, c.hi
    s.start_set, s.start_reset = starts(s, warm, c.key)
    local line, st, status = labctl_run_cell(s)
    out[#out + 1] = line
    if status == "limit" or status == "error" then break end
    learn(warm, c.key, st, status)
  end
  s.keep_timer = nil
  for n, rule in pairs(rules) do node[n].channel.connectrule = rule end
  print(table.concat(out, "|"))
end

-- Parallel write-verify: groups of cells of one row, each group's cells programmed at once. Per group its relays
-- move (one exclusiveclose per node, as labctl_row), then the selected row is on ground, cell k's column on its own
-- channel cells[k].ch and every other line on s.bias. A step: one verify read of every unfinished cell at once
-- (its column at -vread, the bias at -vread: no other cell carries column current; overlapped measurements, one
-- conversion), each cell's rule (labctl_observe) picks its next pulse, then the pulses, one polarity at a time:
-- each pulsed column at minus its amplitude, every other line at minus kbias x the largest amplitude (V/2),
-- each column back to the bias level after its own width. Prints one reply line per cell (labctl_cell's format,
-- times relative to the call) joined by "|"; stops after a group in which a cell hit a limit.
-- groups[g] = {route = {{node, closed list}, ...}, cells = {{ch = channel, lo = , hi = , key = }, ...}}.
function labctl_groups(s, groups, warm)
  local out = {}
  local rules = {}
  local bias, vread = s.bias, s.vread
  timer.reset()
  for g = 1, #groups do for _, m in ipairs(groups[g].route) do
    local ch = node[m[1]].channel
    if rules[m[1]] == nil then rules[m[1]], ch.connectrule = ch.connectrule, ch.OFF end
  end end
  local stop = false
  for g = 1, #groups do
    local grp = groups[g]
    for _, m in ipairs(grp.route) do node[m[1]].channel.exclusiveclose(m[2]) end
    local cells, n = grp.cells, #grp.cells
    local st, pulses, reads, gs, status, live = {}, {}, {}, {}, {}, {}
    for k = 1, n do
      s.lo, s.hi = cells[k].lo, cells[k].hi
      s.start_set, s.start_reset = starts(s, warm, cells[k].key)
      st[k], pulses[k], reads[k], live[k] = labctl_state(s), {}, {}, true
    end
    local errors = errorqueue.count
    bias.source.levelv = 0
    bias.source.output = bias.OUTPUT_ON
    for k = 1, n do
      cells[k].ch.source.levelv = 0
      cells[k].ch.source.output = cells[k].ch.OUTPUT_ON
    end
    local function verify()
      bias.source.levelv = -vread
      for k = 1, n do cells[k].ch.source.levelv = -vread end
      for k = 1, n do if live[k] then
        cells[k].ch.nvbuffer1.clear()
        cells[k].ch.measure.overlappedi(cells[k].ch.nvbuffer1)
      end end
      waitcomplete(0)
      local t = timer.measure.t()
      for k = 1, n do if live[k] then
        local i = -cells[k].ch.nvbuffer1[1]  -- the cell's current flows from the grounded row into its column
        reads[k][#reads[k] + 1] = fmt(i)
        reads[k][#reads[k] + 1] = fmt(t)
        gs[k] = i / vread
      end end
    end  -- the lines stay at the read level until the next pulse or the group's end (no time passes between)
    local function fire(list)  -- one polarity's pulses at once, {k, v, w} sorted by width
      local vref = 0
      for _, p in ipairs(list) do if math.abs(p[2]) > math.abs(vref) then vref = p[2] end end
      local vb = -s.kbias * vref
      bias.source.levelv = vb
      for k = 1, n do cells[k].ch.source.levelv = vb end
      local t = timer.measure.t()
      for _, p in ipairs(list) do
        cells[p[1]].ch.source.levelv = -p[2]
        local pk = pulses[p[1]]
        pk[#pk + 1] = fmt(p[2])
        pk[#pk + 1] = fmt(p[3])
        pk[#pk + 1] = fmt(t)
      end
      if errorqueue.count > errors then return false end  -- the instrument refused a level: no pulse
      local done = 0
      for _, p in ipairs(list) do
        if p[3] > done then
          delay(p[3] - done)
          done = p[3]
        end
        cells[p[1]].ch.source.levelv = vb
      end
      return true
    end
    verify()
    while true do
      local sets, resets, any = {}, {}, false
      for k = 1, n do if live[k] then
        local v, w = labctl_observe(s, st[k], gs[k])
        if v == nil then
          status[k], live[k] = st[k].status, false
        elseif math.abs(v) > s.vmax or w < s.wmin or w > s.wmax then  -- the host's limits, checked again here
          status[k], live[k], stop = "limit", false, true
        else
          if v > 0 then sets[#sets + 1] = {k, v, w} else resets[#resets + 1] = {k, v, w} end
          any = true
        end
      end end
      if stop or not any then break end
      local ok = true
      for _, list in ipairs({sets, resets}) do
        if ok and #list > 0 then
          table.sort(list, function(a, b) return a[3] < b[3] end)
          ok = fire(list)
        end
      end
      if not ok then
        for k = 1, n do if live[k] then status[k], live[k] = "error", false end end
        stop = true
        break
      end
      verify()
    end
    for k = 1, n do
      if live[k] then status[k] = "limit" end
      cells[k].ch.source.levelv = 0
      cells[k].ch.source.output = cells[k].ch.OUTPUT_OFF
    end
    bias.source.levelv = 0
    bias.source.output = bias.OUTPUT_OFF
    for k = 1, n do
      local x = st[k]
      out[#out + 1] = status[k] .. "," .. fmt(x.g) .. "," .. x.pulses .. "," .. x.pol .. "," .. fmt(x.amp) .. "," ..
                      fmt(x.over[1]) .. ";" .. table.concat(pulses[k], ",") .. ";" .. table.concat(reads[k], ",")
      learn(warm, cells[k].key, x, status[k])
    end
    if stop then break end
  end
  for nd, rule in pairs(rules) do node[nd].channel.connectrule = rule end
  print(table.concat(out, "|"))
end
