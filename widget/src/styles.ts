import { css } from 'lit';

/**
 * The widget's look without any page styling. Pages restyle it through the
 * `--boringkit-*` custom properties and the `::part()` names in the README.
 * The default colours meet WCAG AA contrast on the default background.
 */
export const widgetStyles = css`
  :host {
    display: block;
    box-sizing: border-box;
    max-width: var(--boringkit-max-width, 32rem);
    color: var(--boringkit-text-color, #1f2937);
    font-family: var(
      --boringkit-font-family,
      system-ui,
      -apple-system,
      'Segoe UI',
      Roboto,
      sans-serif
    );
    font-size: var(--boringkit-font-size, 1rem);
    line-height: 1.5;
  }

  :host([hidden]) {
    display: none;
  }

  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }

  .container {
    position: relative;
    display: grid;
    gap: 0.75rem;
    padding: var(--boringkit-padding, 1rem);
    border: 1px solid var(--boringkit-border-color, #d1d5db);
    border-radius: var(--boringkit-radius, 0.5rem);
    background: var(--boringkit-background, #ffffff);
  }

  p {
    margin: 0;
  }

  /* Empty live regions stay in the page for screen readers but take no room. */
  .status:empty,
  .error:empty {
    position: absolute;
  }

  .drop-zone {
    display: grid;
    place-items: center;
    align-content: center;
    gap: 0.25rem;
    width: 100%;
    min-height: 8rem;
    padding: 1.5rem 1rem;
    border: 2px dashed var(--boringkit-drop-border-color, #6b7280);
    border-radius: var(--boringkit-radius, 0.5rem);
    background: var(--boringkit-drop-background, #f9fafb);
    color: inherit;
    font: inherit;
    text-align: center;
    cursor: pointer;
  }

  .drop-zone:hover,
  .drop-zone.dragging {
    border-color: var(--boringkit-accent-color, #1d4ed8);
    background: var(--boringkit-drop-active-background, #eff6ff);
  }

  .drop-zone[aria-invalid='true'] {
    border-color: var(--boringkit-error-color, #b91c1c);
  }

  .drop-zone:disabled {
    cursor: not-allowed;
    border-style: solid;
  }

  .drop-title {
    font-weight: 600;
    color: var(--boringkit-accent-color, #1d4ed8);
  }

  .drop-zone:disabled .drop-title {
    color: inherit;
  }

  :focus-visible {
    outline: 3px solid var(--boringkit-focus-color, #2563eb);
    outline-offset: 2px;
  }

  .hint,
  .detail {
    color: var(--boringkit-muted-color, #4b5563);
    font-size: 0.875em;
  }

  .file {
    display: flex;
    flex-wrap: wrap;
    gap: 0 0.5rem;
    overflow-wrap: anywhere;
  }

  .file-name {
    font-weight: 600;
  }

  .progress {
    height: 0.5rem;
    overflow: hidden;
    border-radius: 999px;
    background: var(--boringkit-track-color, #e5e7eb);
  }

  .progress-bar {
    height: 100%;
    background: var(--boringkit-accent-color, #1d4ed8);
    transition: width 150ms linear;
  }

  .indeterminate .progress-bar {
    width: 30% !important;
    animation: sweep 1.4s ease-in-out infinite;
  }

  @keyframes sweep {
    from {
      transform: translateX(-100%);
    }
    to {
      transform: translateX(340%);
    }
  }

  @media (prefers-reduced-motion: reduce) {
    .progress-bar {
      transition: none;
    }
    .indeterminate .progress-bar {
      animation: none;
      transform: none;
    }
  }

  .status {
    font-weight: 500;
  }

  .succeeded .status {
    color: var(--boringkit-success-color, #15803d);
  }

  .failed .status,
  .error {
    color: var(--boringkit-error-color, #b91c1c);
  }

  /* After the status visually; the live regions stay last in the DOM. */
  .actions {
    order: 1;
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
  }

  .button {
    padding: 0.5rem 1rem;
    border: 1px solid var(--boringkit-button-border-color, #6b7280);
    border-radius: var(--boringkit-button-radius, 0.375rem);
    background: var(--boringkit-button-background, #ffffff);
    color: inherit;
    font: inherit;
    cursor: pointer;
  }

  .button.primary {
    border-color: var(--boringkit-accent-color, #1d4ed8);
    background: var(--boringkit-accent-color, #1d4ed8);
    color: var(--boringkit-accent-text-color, #ffffff);
  }

  .button:disabled {
    cursor: progress;
    opacity: 0.7;
  }
`;
