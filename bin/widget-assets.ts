import type { Logger } from 'pino';
import { ensureWidgetBuilt, WIDGET_DIST_DIR } from '../widget/build.ts';

/** The directory the API serves the widget and the demo page from. */
export const WIDGET_ASSETS_DIR = WIDGET_DIST_DIR;

/**
 * Builds the widget when its build is missing or older than its sources,
 * so that a fresh clone serves it. A failed build is logged and the service
 * starts anyway, and only the widget and the demo page return 503.
 */
export async function prepareWidget(logger: Logger): Promise<void> {
  try {
    const outcome = await ensureWidgetBuilt(WIDGET_ASSETS_DIR);
    if (outcome === 'built') {
      logger.info({ directory: WIDGET_ASSETS_DIR }, 'Built the widget');
    }
  } catch (error) {
    logger.error(
      { err: error, directory: WIDGET_ASSETS_DIR },
      'Building the widget failed; GET /widget/boringkit-job.js and the ' +
        'demo page return 503 until npm run build:widget succeeds',
    );
  }
}
