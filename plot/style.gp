# style.gp: what every allocmark chart shares. Loaded by the chart scripts
# (bars.gp, lines.gp) before they plot; sets nothing that depends on data.
#
# Reads these variables, set with gnuplot -e by the driver (allocmark_plot.py):
#   out      output path without extension; out.png and out.svg are written
#   title    the chart's title
#   footer   machine and date, printed small under the chart
#   width, height   size in pixels (optional: 1000 x 600)
#   logy     1 for a log y axis (optional)
#   ymin     lower end of the y axis (optional: 0 on a linear axis, autoscaled
#            on a log axis)

if (!exists("width")) width = 1000
if (!exists("height")) height = 600
if (!exists("footer")) footer = ""
if (!exists("title")) title = ""
if (!exists("logy")) logy = 0
if (!exists("ymin")) ymin = logy ? -1 : 0

# Colours are picked in order from one palette: a series' slot is its
# allocator's place in the run's allocator list (the driver passes it), so an
# allocator keeps its colour in every chart of a run and adding an allocator
# touches no file here. The key "workload" is for series that belong to the
# workload, not to an allocator (the live bytes it holds): black.
array palette[16] = ["#3b3b3b", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", \
                     "#ff7f0e", "#17becf", "#e377c2", "#bcbd22", "#7f7f7f", "#aec7e8", \
                     "#ffbb78", "#98df8a", "#c5b0d5", "#f7b6d2"]
acolor(name, slot) = name eq "workload" ? "#000000" : palette[1 + (slot % |palette|)]

# The terminal for one output format; charts loop over "png svg".
termcmd(fmt) = fmt eq "png" \
    ? sprintf("set terminal pngcairo size %d,%d noenhanced font 'DejaVu Sans,11'", width, height) \
    : sprintf("set terminal svg size %d,%d dynamic noenhanced font 'DejaVu Sans,12' background '#ffffff'", width, height)

# Failed cells are written as NaN (and "?" is accepted too): missing, never 0.
set datafile missing "?"
set datafile separator tab

set title title font ",15"
set key outside right top vertical Left reverse noenhanced samplen 3 spacing 1.2
set grid ytics lc rgb "#d0d0d0" lw 1 dt 2
set border 3 lc rgb "#404040"
set xtics nomirror
set ytics nomirror
set bmargin 6
# Error bars run through their point: (almost) no white gap around it.
# (`unset pointintervalbox` leaves the gap in place for small points.)
set pointintervalbox 0.01
set label 9999 footer at screen 0.01, screen 0.02 left font ",9" tc rgb "#606060" noenhanced

# The y axis: linear from ymin, or logarithmic (from ymin when given).
if (logy) {
    set logscale y
    set format y "%.0s%c"
    if (ymin > 0) { set yrange [ymin:*] }
} else {
    set yrange [ymin:*]
    set format y "%g"
}
