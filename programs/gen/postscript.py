# Input generator of the gs program: a PostScript document of SCALE x 4
# pages, each with a few hundred random filled and stroked Bezier paths in
# colour, clipped regions, rotated text in the standard fonts at many sizes,
# and a user procedure drawing a recursive pattern. Deterministic for a given
# SCALE. Usage: postscript.py SCALE OUT.ps
import random
import sys

scale, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(23)
fonts = ["Times-Roman", "Helvetica-Bold", "Courier", "Times-Italic", "Helvetica"]
words = ["allocator", "fragment", "arena", "slab", "bitmap", "page", "heap", "chunk", "span"]

with open(out, "w") as f:
    w = f.write
    w("%!PS-Adobe-3.0\n%%Pages: " + str(scale * 4) + "\n")
    w("/tree { dup 0 gt { 1 sub gsave 0.7 0.7 scale 30 rotate 0 0 moveto 0 40 lineto "
      "currentpoint stroke translate dup tree -60 rotate dup tree grestore } if pop } def\n")
    for page in range(scale * 4):
        w("%%%%Page: %d %d\n" % (page + 1, page + 1))
        for _ in range(250):
            x, y = rng.uniform(0, 612), rng.uniform(0, 792)
            w("%.3f %.3f %.3f setrgbcolor newpath %.1f %.1f moveto" % (
                rng.random(), rng.random(), rng.random(), x, y))
            for _ in range(rng.randint(1, 6)):
                w(" %.1f %.1f %.1f %.1f %.1f %.1f curveto" % tuple(
                    rng.uniform(0, 612) if i % 2 == 0 else rng.uniform(0, 792) for i in range(6)))
            w(" closepath %s\n" % rng.choice(["fill", "stroke", "eofill"]))
        w("gsave newpath 100 100 moveto 500 150 lineto 300 700 lineto closepath clip\n")
        for _ in range(60):
            w("/%s findfont %d scalefont setfont %.1f %.1f moveto %d rotate (%s %d) show "
              "%d rotate\n" % (rng.choice(fonts), rng.randint(6, 60), rng.uniform(0, 612),
                               rng.uniform(0, 792), rng.randint(0, 359), rng.choice(words),
                               rng.randint(0, 99999), 0))
        w("grestore\n")
        w("gsave 306 100 translate 0 setgray 0.5 setlinewidth %d tree grestore\n"
          % rng.randint(7, 9))
        w("showpage\n")
    w("%%EOF\n")
