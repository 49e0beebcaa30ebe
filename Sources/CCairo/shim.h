// cairo's drawing API and its PDF surface (Debian libcairo2-dev); text uses the toy font API,
// which finds DejaVu Sans through fontconfig and embeds a subset of it in the PDF.
#include <cairo.h>
#include <cairo-pdf.h>
