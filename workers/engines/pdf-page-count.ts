/**
 * Counts the pages of a PDF that an engine wrote, with pdf.js in the calling
 * thread. pdf.js takes the count from the document catalog without parsing
 * page content, so this is cheap after pdf.js has loaded once.
 */
export async function countPdfPages(pdf: Uint8Array): Promise<number> {
  const { getDocument } = await import('pdfjs-dist/legacy/build/pdf.mjs');
  // A copy, because pdf.js may take over the buffer it is given.
  const document = await getDocument({
    data: new Uint8Array(pdf),
    isEvalSupported: false,
    verbosity: 0,
  }).promise;
  try {
    return document.numPages;
  } finally {
    await document.destroy();
  }
}
