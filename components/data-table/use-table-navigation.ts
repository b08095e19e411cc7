"use client";

import { usePathname, useRouter } from "next/navigation";
import { useCallback, useTransition } from "react";

/**
 * For tables whose state lives in the URL (sorted, filtered and paged by the server): moves to
 * another query string of the same page inside a transition, so the current rows stay on screen
 * (marked busy) until the server has rendered the next ones.
 */
export function useTableNavigation() {
  const router = useRouter();
  const pathname = usePathname();
  const [pending, startTransition] = useTransition();
  const navigate = useCallback(
    /** `target` is a query string of this page ("?page=2", "" for none) or a path. */
    (target: string, options: { replace?: boolean } = {}) => {
      const href = target.startsWith("/") ? target : `${pathname}${target}`;
      startTransition(() => {
        if (options.replace) router.replace(href, { scroll: false });
        else router.push(href, { scroll: false });
      });
    },
    [pathname, router],
  );
  return { navigate, pending };
}
