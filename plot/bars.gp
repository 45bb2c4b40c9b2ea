# bars.gp: grouped bars (groups along x, one bar per series in each group),
# each with a whisker (the median's or the ratio's 95 % confidence interval)
# and, where there are few, its repetitions as dots. Used for throughput
# against the baseline allocator, peak memory and latency percentiles.
#
#   gnuplot -e "datafile='d.dat'; out='plots/x'; keys='glibc jemalloc'; \
#               slots='0 1'; ngroups=3; title='...'; ylabel='...'" bars.gp
#
# Variables (set with -e; those marked * are optional):
#   datafile   tab-separated data, blocks separated by two blank lines:
#              index 0        one row per group: x, "group name"
#              index 1..S     one block per series, first line a header whose
#                             second field is the legend title; rows:
#                             x, value, low, high, marker
#              index S+1      * the repetitions: x, value (when dots=1)
#              index S+1+dots * failure notes: x, y, "text" (when haslabels=1)
#              A missing value is NaN or ?: the bar is absent, never 0.
#   keys       series keys, space-separated ("workload": black)
#   slots      each series' colour slot (its place in the allocator list),
#              space-separated
#   ngroups    number of groups
#   out, title, footer, width, height   see style.gp
#   ylabel     the y axis label, with its unit
#   xlabel *   the x axis label
#   logy *, ymin *   log y axis, lower end of y: see style.gp
#   barwidth * width of one bar in x units (default 0.8 / S)
#   dots *     1 when index S+1 holds the repetitions, drawn as small circles
#   haslabels * 1 when index S+1+dots holds failure notes
#   markers *  legend title for the marker column (points over the bars);
#              empty or unset: no markers
#   refline *  y value of a dashed reference line (e.g. 1 for "glibc = 1")
#   xrot *     rotation of the group names in degrees (counter-clockwise)

load ARG0[1:strstrt(ARG0, "bars.gp") - 1] . "style.gp"

S = words(keys)
if (!exists("xlabel")) xlabel = ""
if (!exists("ylabel")) ylabel = ""
if (!exists("barwidth")) barwidth = 0.8 / S
if (!exists("haslabels")) haslabels = 0
if (!exists("markers")) markers = ""
if (!exists("xrot")) xrot = 0
if (!exists("dots")) dots = 0

set xrange [-0.55 : ngroups - 0.45]
set boxwidth barwidth absolute
set style fill solid 0.85 border rgb "#303030"
set xtics scale 0
if (xrot != 0) {
    set xtics rotate by xrot right
    set bmargin 9
}
set xlabel xlabel
set ylabel ylabel
if (exists("refline")) {
    set arrow 1 from graph 0, first refline to graph 1, first refline nohead dt 2 lw 1.5 lc rgb "#3b3b3b" back
}

MARKERS = (markers ne "") ? \
    ", for [i=1:S] datafile index i using 1:5 with points pt 13 ps 1.4 lc rgb '#000000' title (i == 1 ? markers : '')" : ""
DOTS = dots ? \
    ", datafile index S+1 using 1:2 with points pt 6 ps 0.5 lc rgb '#000000' title 'repetitions'" : ""
LABELS = haslabels ? \
    sprintf(", datafile index %d using 1:2:3 with labels rotate by 90 left offset 0,0.6 font ',10' tc rgb '#b00000' notitle", S + 1 + dots) : ""

do for [fmt in "png svg"] {
    eval termcmd(fmt)
    set output out . "." . fmt
    plot datafile index 0 using 1:(NaN):xtic(2) notitle, \
         for [i=1:S] datafile index i using 1:2 with boxes \
             lc rgb acolor(word(keys, i), int(word(slots, i))) title columnheader(2), \
         for [i=1:S] datafile index i using 1:2:3:4 with yerrorbars \
             lc rgb "#202020" pt 7 ps 0.25 notitle \
         @MARKERS @DOTS @LABELS
    set output
}
