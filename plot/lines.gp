# lines.gp: one line per series against a numeric x (thread count, size,
# time), with optional error bars (the median's 95 % confidence interval) and
# the repetitions as dots. Used for thread scaling, memcpy and
# memset bandwidth, microbenchmarks and memory over time.
#
#   gnuplot -e "datafile='d.dat'; out='plots/x'; keys='glibc jemalloc'; \
#               slots='0 1'; title='...'; xlabel='...'; ylabel='...'" lines.gp
#
# Variables (set with -e; those marked * are optional):
#   datafile   tab-separated data, blocks separated by two blank lines:
#              index 0..S-1   one block per series, first line a header whose
#                             second field is the legend title; rows:
#                             x, value, low, high
#              index S        * the repetitions: x, value (when dots=1)
#              index S+dots   * failure notes: x, y, "text" (when haslabels=1)
#              A missing value is NaN or ?: the line breaks there, never 0.
#   keys       series keys, space-separated ("workload": black)
#   slots      each series' colour slot (its place in the allocator list),
#              space-separated
#   out, title, footer, width, height   see style.gp
#   xlabel, ylabel   axis labels, with units
#   logx *     1 for a log x axis (base 2)
#   xformat *  tic format of x (when no xticks)
#   xticks *   explicit x tics, space-separated: "4" or "4096:4KiB" (position:label)
#   xmin *, xmax *   x range (default: autoscaled)
#   logy *, ymin *   log y axis, lower end of y: see style.gp
#   points *   0 for lines without point symbols (default 1)
#   errorbars * 0 to leave out the error bars (default 1)
#   dots *     1 when index S holds the repetitions, drawn as small circles
#   dashes *   dash type per series, space-separated (default all solid)
#   haslabels * 1 when index S+dots holds failure notes

load ARG0[1:strstrt(ARG0, "lines.gp") - 1] . "style.gp"

S = words(keys)
if (!exists("xlabel")) xlabel = ""
if (!exists("ylabel")) ylabel = ""
if (!exists("logx")) logx = 0
if (!exists("points")) points = 1
if (!exists("errorbars")) errorbars = 1
if (!exists("haslabels")) haslabels = 0
if (!exists("dashes")) dashes = ""
if (!exists("dots")) dots = 0
dash(i) = words(dashes) >= i ? int(word(dashes, i)) : 1

set xlabel xlabel
set ylabel ylabel
if (logx) set logscale x 2
if (exists("xformat")) set format x xformat
if (exists("xticks")) {
    set xtics ()
    do for [t in xticks] {
        colon = strstrt(t, ":")
        if (colon) { set xtics add (t[colon+1:] real(t[1:colon-1])) } else { set xtics add (t real(t)) }
    }
}
if (exists("xmin") && exists("xmax")) set xrange [xmin:xmax]
set grid xtics

STYLE = points ? "linespoints pt 7 ps 0.9" : "lines"
ERRORS = errorbars ? \
    ", for [i=1:S] datafile index i-1 using 1:2:3:4 with yerrorbars lc rgb acolor(word(keys, i), int(word(slots, i))) pt 7 ps 0.25 notitle" : ""
DOTS = dots ? \
    ", datafile index S using 1:2 with points pt 6 ps 0.5 lc rgb '#000000' title 'repetitions'" : ""
LABELS = haslabels ? \
    sprintf(", datafile index %d using 1:2:3 with labels rotate by 90 left offset 0,0.6 font ',10' tc rgb '#b00000' notitle", S + dots) : ""

do for [fmt in "png svg"] {
    eval termcmd(fmt)
    set output out . "." . fmt
    plot for [i=1:S] datafile index i-1 using 1:2 with @STYLE lw 2 dt dash(i) \
             lc rgb acolor(word(keys, i), int(word(slots, i))) title columnheader(2) \
         @ERRORS @DOTS @LABELS
    set output
}
