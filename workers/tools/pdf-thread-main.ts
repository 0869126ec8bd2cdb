import { serveThreadTasks } from '../engines/pdf-document.ts';
import { renderPages } from './pdf-images-thread.ts';
import { readLayout } from './pdf-layout-thread.ts';
import { extractText } from './pdf-text-thread.ts';

// The module every pooled pdf.js thread runs, with the PDF tools' tasks.
serveThreadTasks({
  text: extractText,
  images: renderPages,
  layout: readLayout,
});
