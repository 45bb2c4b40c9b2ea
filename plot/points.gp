# points.gp: one point per series at (x, y) with min-max bars on both axes,
# each labelled with its key: the time-against-memory trade-off of a program
# (lower left is best).
#
#   gnuplot -e "datafile='d.dat'; out='plots/x'; keys='glibc slab'; \
#               slots='0 1'; title='...'; xlabel='...'; ylabel='...'" points.gp
#
# Variables (set with -e; those marked * are optional):
#   datafile   tab-separated data, one block per series (two blank lines
#              apart), first line a header whose second field is the legend
#              title; one row: x, y, xlow, xhigh, ylow, yhigh
#   keys       series keys, space-separated: allocator names pick the colour
#   slots      each series' fallback colour slot, space-separated
#   out, title, footer, width, height   see style.gp
#   xlabel, ylabel   axis labels, with units
#   notes *    a line printed in red at the top left (the allocators that
#              failed or gave wrong output, which have no point)

load ARG0[1:strstrt(ARG0, "points.gp") - 1] . "style.gp"

S = words(keys)
if (!exists("xlabel")) xlabel = ""
if (!exists("ylabel")) ylabel = ""
if (!exists("notes")) notes = ""

set xlabel xlabel
set ylabel ylabel
set xrange [0<*:*]
set yrange [0<*:*]
set offsets graph 0.12, graph 0.12, graph 0.12, graph 0.12
set grid xtics
if (notes ne "") set label 1 notes at graph 0.01, graph 0.97 left font ",10" tc rgb "#b00000" noenhanced

do for [fmt in "png svg"] {
    eval termcmd(fmt)
    set output out . "." . fmt
    plot for [i=1:S] datafile index i-1 using 1:2:3:4:5:6 with xyerrorbars lw 2 pt 7 ps 1.4 \
             lc rgb acolor(word(keys, i), int(word(slots, i))) title columnheader(2), \
         for [i=1:S] datafile index i-1 using 1:2:(word(keys, i)) with labels left offset 1,0.8 \
             font ",10" notitle
    set output
}
