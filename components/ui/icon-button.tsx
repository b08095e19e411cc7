import type { LucideIcon } from "lucide-react";
import { forwardRef } from "react";
import { Button, type ButtonProps } from "./button";

export interface IconButtonProps extends Omit<ButtonProps, "size" | "children"> {
  /** The button's accessible name: an icon alone says nothing to a screen reader. */
  label: string;
  icon: LucideIcon;
}

/** A square button that shows only an icon (Reveal, Copy, QR Code, Settings, ...). */
export const IconButton = forwardRef<HTMLButtonElement, IconButtonProps>(function IconButton(
  { label, icon: Icon, variant = "ghost", ...props },
  ref,
) {
  return (
    <Button ref={ref} variant={variant} size="icon" aria-label={label} {...props}>
      <Icon className="h-4 w-4" aria-hidden />
    </Button>
  );
});
