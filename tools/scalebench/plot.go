package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

// A log-log line plot written with image/png alone (no network, no
// gnuplot): decade grid lines, one polyline with markers per series, and
// the decades and the y range written in a 3x5 pixel font.

type series struct {
	x, y []float64
	c    color.RGBA
}

const (
	plotW, plotH = 640, 400
	margin       = 48
)

var (
	grey  = color.RGBA{220, 220, 220, 255}
	black = color.RGBA{0, 0, 0, 255}
	blue  = color.RGBA{31, 90, 200, 255}
	red   = color.RGBA{200, 40, 40, 255}
)

// writePlot draws ss on log-log axes into the PNG file path.
func writePlot(path string, ss []series) error {
	img := image.NewRGBA(image.Rect(0, 0, plotW, plotH))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	x0, x1, y0, y1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for i := range s.x {
			if s.x[i] > 0 && s.y[i] > 0 {
				x0, x1 = math.Min(x0, s.x[i]), math.Max(x1, s.x[i])
				y0, y1 = math.Min(y0, s.y[i]), math.Max(y1, s.y[i])
			}
		}
	}
	if math.IsInf(x0, 1) {
		return fmt.Errorf("plot %s: no positive points", path)
	}
	lx0, lx1 := math.Floor(math.Log10(x0)), math.Ceil(math.Log10(x1))
	ly0, ly1 := math.Floor(math.Log10(y0)), math.Ceil(math.Log10(y1))
	lx1, ly1 = math.Max(lx1, lx0+1), math.Max(ly1, ly0+1)
	px := func(x float64) int {
		return margin + int((math.Log10(x)-lx0)/(lx1-lx0)*float64(plotW-2*margin))
	}
	py := func(y float64) int {
		return plotH - margin - int((math.Log10(y)-ly0)/(ly1-ly0)*float64(plotH-2*margin))
	}
	for d := lx0; d <= lx1; d++ {
		x := px(math.Pow(10, d))
		line(img, x, margin, x, plotH-margin, grey)
		text(img, x-6, plotH-margin+8, fmt.Sprintf("1e%d", int(d)), black)
	}
	for d := ly0; d <= ly1; d++ {
		y := py(math.Pow(10, d))
		line(img, margin, y, plotW-margin, y, grey)
		text(img, 4, y-5, fmt.Sprintf("1e%d", int(d)), black)
	}
	line(img, margin, plotH-margin, plotW-margin, plotH-margin, black)
	line(img, margin, margin, margin, plotH-margin, black)
	for _, s := range ss {
		for i := range s.x {
			if s.x[i] <= 0 || s.y[i] <= 0 {
				continue
			}
			x, y := px(s.x[i]), py(s.y[i])
			for dx := -3; dx <= 3; dx++ {
				for dy := -3; dy <= 3; dy++ {
					img.SetRGBA(x+dx, y+dy, s.c)
				}
			}
			if i > 0 && s.x[i-1] > 0 && s.y[i-1] > 0 {
				line(img, px(s.x[i-1]), py(s.y[i-1]), x, y, s.c)
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return f.Close()
}

// line draws a 2-pixel-wide segment (Bresenham).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		img.SetRGBA(x0, y0, c)
		img.SetRGBA(x0+1, y0, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

// glyph is r in a 3x5 font for the axis labels: each row is 3 bits.
func glyph(r rune) [5]uint8 {
	return map[rune][5]uint8{
		'0': {7, 5, 5, 5, 7}, '1': {2, 6, 2, 2, 7}, '2': {7, 1, 7, 4, 7}, '3': {7, 1, 7, 1, 7},
		'4': {5, 5, 7, 1, 1}, '5': {7, 4, 7, 1, 7}, '6': {7, 4, 7, 5, 7}, '7': {7, 1, 1, 1, 1},
		'8': {7, 5, 7, 5, 7}, '9': {7, 5, 7, 1, 7}, 'e': {0, 7, 7, 4, 7}, '-': {0, 0, 7, 0, 0},
	}[r]
}

// text writes s at x, y, each font pixel 2x2.
func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, r := range s {
		g := glyph(r)
		for row := range 5 {
			for col := range 3 {
				if g[row]&(4>>col) == 0 {
					continue
				}
				for d := range 4 {
					img.SetRGBA(x+2*col+d%2, y+2*row+d/2, c)
				}
			}
		}
		x += 8
	}
}
